"""The bookable-slots list's `count` from the maintained free-slot counters (appointments/slot_counts.py)
equals the ORM's count of `SlotQuerySet.bookable_q` on random data: at several instants (either side of
the UTC midnight that splits the counted days from the slots counted one by one, a slot starting, a hold
lapsing), after writes through the API and behind its back, after a fold and a rebuild, and after
concurrent bookings taking the last seats of one doctor's slots."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from appointments import slot_counts
from appointments.models import FreeSlotCount, Hold, Slot
from appointments.tests.factories import DoctorFactory, HoldFactory, SlotFactory
from appointments.tests.test_slot_list_kept import world  # noqa: F401 - the random slots
from conftest import client_for, run_together

pytestmark = pytest.mark.django_db

COUNTERS = '"appointments_freeslotcount"'


def _api_count(client, hospital_id: int, path: str = "/api/v1/slots?available=true&hospital_id={}&page_size=1"):
    """The list's count (a page of one: the count is computed, not read off a short page) and whether
    the counters answered it."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path.format(hospital_id))
    assert response.status_code == 200, response.content
    return response.json()["count"], any(COUNTERS in query["sql"] for query in captured.captured_queries)


def _orm_count(hospital_id: int, now) -> int:
    return Slot.objects.filter(hospital_id=hospital_id).filter(Slot.objects.bookable_q(now)).count()


def _assert_counts(client, hospitals, now):
    for hospital in hospitals:
        expected = _orm_count(hospital.pk, now)
        for path in (
            "/api/v1/slots?available=true&hospital_id={}&page_size=1",
            "/appointment/available-slots?hospital_id={}&page_size=1",
        ):
            count, from_counters = _api_count(client, hospital.pk, path)
            assert count == expected, (hospital.pk, path, now)
            if expected > 1:
                assert from_counters, path


def _instants(base):
    midnight = datetime.fromtimestamp((int(base.timestamp()) // 86400 + 1) * 86400, tz=UTC)
    return [
        base,
        base + timedelta(minutes=7),  # a hold lapsed (the world's lapse at base +- minutes)
        midnight - timedelta(seconds=1),
        midnight,
        midnight + timedelta(seconds=1),
        base + timedelta(days=2, hours=5),
    ]


def test_the_count_equals_the_orms_at_many_instants(world):  # noqa: F811
    client = APIClient()  # public: no token to outlive the instants travelled to
    base = timezone.now()
    # Slots on the edge: one starting at the very UTC midnight that splits the counted days.
    doctor = next(
        d for d in world["doctors"] if d.is_available and d.hospital.is_active and d.hospital.opd_status != "closed"
    )
    midnight = _instants(base)[3]
    for start in (midnight - timedelta(microseconds=1), midnight, midnight + timedelta(microseconds=1)):
        SlotFactory(doctor=doctor, start=start, capacity=2)
    for moment in _instants(base):
        with time_machine.travel(moment, tick=False):
            _assert_counts(client, world["hospitals"], moment)


def test_writes_folds_and_rebuilds_keep_it_exact(world, admin_client):  # noqa: F811
    client = client_for(UserFactory(role="user"))
    hospitals = world["hospitals"]
    now = timezone.now()
    busiest = max(hospitals[:5], key=lambda hospital: _orm_count(hospital.pk, now))
    slots = list(Slot.objects.filter(Slot.objects.bookable_q(now), hospital=busiest).order_by("start")[:4])
    # Through the API: capacity lowered to what is booked (full), a slot closed, a doctor unavailable.
    full = max(slots[0].booked + slots[0].hold_count, 1)
    response = admin_client.patch(f"/api/v1/slots/{slots[0].pk}", {"capacity": full}, format="json")
    assert response.status_code == 200, response.content
    response = admin_client.patch(f"/api/v1/slots/{slots[1].pk}", {"status": "closed"}, format="json")
    assert response.status_code == 200, response.content
    # Behind its back: a hold filling a slot (active, then lapsed), a new slot, a doctor made unavailable.
    free = slots[2].capacity - slots[2].booked - slots[2].hold_count
    for _ in range(free):
        HoldFactory(slot=slots[2], expires_at=now + timedelta(minutes=3))
    SlotFactory(doctor=slots[3].doctor, start=now + timedelta(days=3, minutes=1))
    doctor = world["doctors"][-1]
    doctor.is_available = not doctor.is_available
    doctor.save()
    for moment in (now, now + timedelta(minutes=4)):
        with time_machine.travel(moment, tick=False):
            _assert_counts(client, hospitals, moment)
    slot_counts.fold(connection, today=int(now.timestamp()) // 86400)
    _assert_counts(client, hospitals, timezone.now())
    folded = {(r.hospital_id, r.doctor_id, r.day): r.n for r in FreeSlotCount.objects.filter(day__gt=0)}
    slot_counts.rebuild(connection)
    rebuilt = {(r.hospital_id, r.doctor_id, r.day): r.n for r in FreeSlotCount.objects.all()}
    today = int(now.timestamp()) // 86400
    assert {key: n for key, n in rebuilt.items() if key[2] >= today} == folded
    _assert_counts(client, hospitals, timezone.now())


def test_a_hidden_hospital_counts_nothing(world):  # noqa: F811
    client = client_for(UserFactory(role="user"))
    inactive, closed = world["hospitals"][-2:]
    assert _api_count(client, closed.pk)[0] == 0
    assert client.get(f"/api/v1/slots?available=true&hospital_id={inactive.pk}&page_size=1").json()["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_the_last_seats_leave_the_counters_exact():
    doctor = DoctorFactory()
    start = timezone.now() + timedelta(days=2)
    slots = [SlotFactory(doctor=doctor, start=start + timedelta(minutes=15 * n), capacity=1) for n in range(6)]
    SlotFactory(doctor=doctor, start=start + timedelta(hours=5), capacity=3)
    patients = [UserFactory(role="user") for _ in range(12)]
    clients = [client_for(patient) for patient in patients]

    def book(index: int):
        slot = slots[index % len(slots)]
        return clients[index].post("/api/v1/appointments", {"slot_id": slot.pk}, format="json").status_code

    statuses = run_together([lambda index=index: book(index) for index in range(len(clients))])
    assert statuses.count(201) == len(slots) and set(statuses) <= {201, 409}
    now = timezone.now()
    assert _orm_count(doctor.hospital_id, now) == 1
    assert _api_count(clients[0], doctor.hospital_id)[0] == 1
    summed = FreeSlotCount.objects.filter(hospital_id=doctor.hospital_id).aggregate(n=Sum("n"))["n"]
    assert summed == 1
    assert not Hold.objects.exists()


def test_the_command_finds_a_tampered_counter_and_rebuild_mends_it(world):  # noqa: F811
    call_command("slot_counts", stdout=StringIO())
    hospital = next(h for h in world["hospitals"] if _orm_count(h.pk, timezone.now()) > 0)
    later = int(timezone.now().timestamp()) // 86400 + 1
    doctor = next(doctor for doctor in world["doctors"] if doctor.is_available)
    FreeSlotCount.objects.create(hospital_id=hospital.pk, doctor_id=doctor.pk, day=later, n=5)
    with pytest.raises(CommandError, match="differ from a recount"):
        call_command("slot_counts", stdout=StringIO())
    call_command("slot_counts", "--rebuild", stdout=StringIO())
    call_command("slot_counts", "--fold", stdout=StringIO())
    call_command("slot_counts", stdout=StringIO())


def test_the_fold_job_leaves_one_row_per_key_and_the_same_counts(world):  # noqa: F811
    client = APIClient()
    now = timezone.now()
    for slot in Slot.objects.filter(Slot.objects.bookable_q(now), booked__gte=1).order_by("id")[:6]:
        Slot.objects.filter(pk=slot.pk).update(capacity=slot.booked + slot.hold_count)  # full: -1 each
    before = FreeSlotCount.objects.count()
    with time_machine.travel(now, tick=False):
        call_command("run_job", "appointments.fold_slot_counts", stdout=StringIO())
        keys = FreeSlotCount.objects.values_list("hospital_id", "doctor_id", "day")
        assert len(keys) == len(set(keys)) < before
        _assert_counts(client, world["hospitals"], now)
