"""hms.api.throttling: DRF's throttles counted with one atomic step, on Redis (fakeredis here) and on
the database cache the rest of the suite uses."""

import threading
import time

import fakeredis
import pytest
from django.test import override_settings
from rest_framework.throttling import ScopedRateThrottle as DrfScopedRateThrottle

from accounts.tests.factories import UserFactory
from appointments.models import Appointment
from appointments.tests.factories import DoctorFactory, SlotFactory
from conftest import client_for
from hms.api.cache import RedisCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_redis():
    """Settings for hms.api.cache.RedisCache on an in-process Redis server of its own."""
    server = fakeredis.FakeServer()
    options = {"connection_class": fakeredis.FakeConnection, "server": server}
    return {"default": {"BACKEND": "hms.api.cache.RedisCache", "LOCATION": "redis://fake:6379/0", "OPTIONS": options}}


@pytest.fixture
def booking_rate(monkeypatch):
    rates = {**DrfScopedRateThrottle.THROTTLE_RATES, "booking": "3/min"}
    monkeypatch.setattr(DrfScopedRateThrottle, "THROTTLE_RATES", rates)


def test_redis_window_counts_up_and_expires_with_its_first_count(fake_redis):
    cache = RedisCache(fake_redis["default"]["LOCATION"], {"OPTIONS": fake_redis["default"]["OPTIONS"]})
    first, left = cache.count_in_window("throttle-test", 1)
    assert first == 1 and 0 < left <= 1
    assert [cache.count_in_window("throttle-test", 1)[0] for _ in range(3)] == [2, 3, 4]
    assert cache.count_in_window("other-caller", 1)[0] == 1
    time.sleep(1.1)
    assert cache.count_in_window("throttle-test", 1)[0] == 1


def test_redis_window_loses_no_count_under_concurrent_callers(fake_redis):
    cache = RedisCache(fake_redis["default"]["LOCATION"], {"OPTIONS": fake_redis["default"]["OPTIONS"]})
    counts, barrier = [], threading.Barrier(8)

    def hit():
        barrier.wait()
        for _ in range(25):
            counts.append(cache.count_in_window("burst", 60)[0])

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))


@pytest.mark.parametrize("on_redis", [True, False], ids=["redis", "database-cache"])
def test_booking_budget_is_per_user_with_retry_after(on_redis, fake_redis, booking_rate, patient):
    slots = SlotFactory.create_batch(5, doctor=DoctorFactory(), capacity=5)
    client, other = client_for(patient), client_for(UserFactory())
    with override_settings(**({"CACHES": fake_redis} if on_redis else {})):
        statuses = [client.post("/api/v1/appointments", {"slot_id": s.pk}, format="json") for s in slots[:4]]
        assert [r.status_code for r in statuses] == [201, 201, 201, 429]
        assert 1 <= int(statuses[3]["Retry-After"]) <= 60
        assert statuses[3].json()["errors"][0]["code"] == "throttled"
        # Another user has a budget of its own.
        assert other.post("/api/v1/appointments", {"slot_id": slots[4].pk}, format="json").status_code == 201
    assert not Appointment.objects.filter(slot=slots[3]).exists()
