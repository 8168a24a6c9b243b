"""Login failure throttles (API.md 14): 5 per 15 minutes per username, 20 per 15 minutes per address."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.jobs import flush_expired_tokens
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import assert_error, login
from accounts.throttling import parse_rate

pytestmark = pytest.mark.django_db

WRONG = "Wrong-Password-0"


def fail(client, username, times, path="/auth/login", **extra):
    for _ in range(times):
        assert login(client, username, WRONG, path=path, **extra).status_code == 401


def assert_throttled(response, max_wait=15 * 60):
    assert_error(response, 429, code="throttled")
    wait = int(response["Retry-After"])
    assert 1 <= wait <= max_wait + 1
    assert "access" not in response.json()
    return wait


@pytest.mark.parametrize(
    "rate,expected",
    [("5/15m", (5, 900)), ("20/15m", (20, 900)), ("10/min", (10, 60)), ("30/hour", (30, 3600)), ("3/2h", (3, 7200))],
)
def test_rates_with_a_multiplier_are_parsed_as_written(rate, expected):
    # DRF's own parser reads "5/15m" as five a minute; ours keeps the 15.
    assert parse_rate(rate) == expected


def test_five_failures_for_a_username_then_429_with_retry_after(api, patient):
    fail(api, patient.username, 5)
    assert_throttled(login(api, patient.username, WRONG))


def test_correct_credentials_are_also_429_while_throttled(api, patient):
    fail(api, patient.username, 5)
    assert_throttled(login(api, patient.username, PASSWORD))
    assert_throttled(login(api, patient.username, PASSWORD, path="/auth/admin/login"))


def test_four_failures_do_not_throttle_and_success_is_not_counted(api, patient):
    fail(api, patient.username, 4)
    for _ in range(3):
        assert login(api, patient.username, PASSWORD).status_code == 200
    assert login(api, patient.username, WRONG).status_code == 401
    assert_throttled(login(api, patient.username, PASSWORD))


def test_username_counter_ignores_case_and_email_spelling(api, patient):
    fail(api, patient.username.upper(), 2)
    fail(api, patient.email, 2)
    fail(api, patient.email.upper(), 1)
    assert_throttled(login(api, patient.username, PASSWORD))


def test_username_counter_is_shared_by_every_login_endpoint(api, hospital_admin):
    fail(api, hospital_admin.username, 2, path="/auth/admin/login")
    fail(api, hospital_admin.username, 2, path="/api/v1/auth/hospital/login")
    fail(api, hospital_admin.username, 1)
    assert_throttled(login(api, hospital_admin.username, PASSWORD, path="/auth/hospital/login"))


def test_username_throttle_applies_from_every_address(patient):
    for number in range(5):
        fail(APIClient(REMOTE_ADDR=f"10.0.0.{number}"), patient.username, 1)
    assert_throttled(login(APIClient(REMOTE_ADDR="10.9.9.9"), patient.username, PASSWORD))


def test_username_throttle_does_not_block_other_accounts(api, patient, other_patient):
    fail(api, patient.username, 5)
    assert login(api, other_patient.username, PASSWORD).status_code == 200


def test_unknown_usernames_are_throttled_too(api):
    fail(api, "ghost", 5)
    assert_throttled(login(api, "ghost", WRONG))


def test_throttle_lasts_the_whole_window_then_lifts(api, patient):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(api, patient.username, 5)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        wait = assert_throttled(login(api, patient.username, PASSWORD))
        assert 8 * 60 <= wait <= 9 * 60 + 1
    with time_machine.travel(start + timedelta(minutes=14, seconds=50), tick=False):
        assert_throttled(login(api, patient.username, PASSWORD))
    with time_machine.travel(start + timedelta(minutes=15, seconds=2), tick=False):
        assert login(api, patient.username, PASSWORD).status_code == 200


def test_throttled_attempts_do_not_extend_the_window(api, patient):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(api, patient.username, 5)
    for minute in (5, 10, 14):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            assert_throttled(login(api, patient.username, WRONG))
    with time_machine.travel(start + timedelta(minutes=15, seconds=2), tick=False):
        assert login(api, patient.username, PASSWORD).status_code == 200


def test_housekeeping_forgets_ended_windows_and_keeps_open_ones(api, patient, other_patient):
    # On the database cache (the default) the counters are rows of their own table: the daily
    # accounts job deletes the windows that ended, and an open window keeps counting.
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(api, patient.username, 5)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        fail(api, other_patient.username, 5)
    with time_machine.travel(start + timedelta(minutes=17), tick=False):
        # the first username's window and the address's (opened by the first failure, also at 0 min)
        assert flush_expired_tokens()["login_failure_windows"] == 2
        assert_throttled(login(api, other_patient.username, PASSWORD))  # its window is open until 25 min
        assert login(api, patient.username, PASSWORD).status_code == 200


def test_counters_survive_a_busy_cache(api, patient):
    fail(api, patient.username, 5)
    # Other traffic (throttles of other users, idempotency keys) must not evict the counter.
    cache.set_many({f"other-traffic-{n}": n for n in range(500)}, 600)
    assert_throttled(login(api, patient.username, PASSWORD))


def test_twenty_failures_from_one_address_throttle_that_address(patient):
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    for number in range(20):
        fail(client, f"nobody{number}", 1)
    assert_throttled(login(client, patient.username, PASSWORD))
    # The account itself is not throttled: another address signs in.
    assert login(APIClient(REMOTE_ADDR="198.51.100.8"), patient.username, PASSWORD).status_code == 200


def test_nineteen_failures_from_one_address_do_not_throttle(patient):
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    for number in range(19):
        fail(client, f"nobody{number}", 1)
    assert login(client, patient.username, PASSWORD).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(settings, patient):
    settings.TRUSTED_PROXIES = 0
    for number in range(20):
        client = APIClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")
        fail(client, f"nobody{number}", 1)
    spoofing = APIClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.250")
    assert_throttled(login(spoofing, patient.username, PASSWORD))


def test_forwarded_for_names_the_client_behind_trusted_proxies(settings, patient):
    settings.TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"
    for number in range(20):
        # The client forges a first hop; the proxy appends the real address.
        client = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{number}, 203.0.113.9")
        fail(client, f"nobody{number}", 1)
    same_client = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9")
    assert_throttled(login(same_client, patient.username, PASSWORD))
    other_client = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert login(other_client, patient.username, PASSWORD).status_code == 200


def test_two_trusted_proxies_take_the_second_hop_from_the_right(settings, patient):
    settings.TRUSTED_PROXIES = 2
    for number in range(20):
        client = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"6.6.6.{number}, 203.0.113.9, 10.0.0.1")
        fail(client, f"nobody{number}", 1)
    client = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    assert_throttled(login(client, patient.username, PASSWORD))


def test_limits_are_settings(settings, api, patient):
    settings.THROTTLE_LOGIN_USERNAME = "2/15m"
    fail(api, patient.username, 2)
    assert_throttled(login(api, patient.username, PASSWORD))


def test_throttled_response_has_the_error_shape_on_the_v1_mount(api):
    user = UserFactory()
    fail(api, user.username, 5, path="/api/v1/auth/login")
    assert_throttled(login(api, user.username, PASSWORD, path="/api/v1/auth/login/"))
