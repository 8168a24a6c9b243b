"""The login failure counters (accounts/throttling.py) cost a constant number of cache operations per
attempt whatever the limit, and concurrent failures are all counted, on each cache backend HMS runs on:
the database cache (the default), Redis (a real `redis-server` on a free port: the root conftest's `redis_url`) and
the local-memory cache. API.md section 14 pins what is counted; test_throttle.py tests those rules."""

import time
from functools import partial

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import throttling
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import login
from conftest import run_together

CACHE_METHODS = ("get", "get_many", "add", "set", "set_many", "incr", "decr", "delete", "delete_many", "touch")


@pytest.fixture(params=["database", "redis", "locmem"])
def backend(request, settings):
    """The default cache on each backend; the counters start empty."""
    if request.param == "redis":
        location = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {"BACKEND": "hms.api.cache.RedisCache", "LOCATION": location}}
    elif request.param == "locmem":
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-cost"}
        }
    cache.clear()
    yield request.param
    cache.clear()


class CacheCalls:
    """Counts the calls made on the default cache backend (of this thread) and the keys they name."""

    def __init__(self, monkeypatch):
        self.calls, self.keys = 0, 0
        instance = caches["default"]
        for name in CACHE_METHODS:
            monkeypatch.setattr(instance, name, self._counting(getattr(instance, name)))

    def _counting(self, method):
        def counted(*args, **kwargs):
            self.calls += 1
            named = args[0] if args else None
            self.keys += len(named) if isinstance(named, dict | list | tuple | set) else 1
            return method(*args, **kwargs)

        return counted


def cost_of_one_failed_attempt(monkeypatch, rate: str, failures_before: int) -> tuple[int, int, int, int]:
    """(cache calls, keys named, SQL statements, SQL characters) of the attempt after `failures_before` failures."""
    with monkeypatch.context() as patch:
        patch.setattr("django.conf.settings.THROTTLE_LOGIN_USERNAME", rate)
        patch.setattr("django.conf.settings.THROTTLE_LOGIN_IP", rate)
        for _ in range(failures_before):
            counted, wait = throttling.login_attempt_begin(username="victim", ip="198.51.100.20")
            assert wait is None
        counter = CacheCalls(patch)
        with CaptureQueriesContext(connection) as queries:
            counted, wait = throttling.login_attempt_begin(username="victim", ip="198.51.100.20")
        assert wait is None and len(counted) == 2
        sql = [query["sql"] for query in queries.captured_queries]
        return counter.calls, counter.keys, len(sql), sum(map(len, sql))


@pytest.mark.django_db
def test_an_attempt_costs_the_same_few_cache_operations_at_a_limit_of_100000(backend, monkeypatch):
    # Counting one key per allowed failure made each login at 100000/1m read 100,000 keys.
    small = cost_of_one_failed_attempt(monkeypatch, "5/1m", failures_before=3)
    cache.clear()
    large = cost_of_one_failed_attempt(monkeypatch, "100000/1m", failures_before=3)
    # The same operations and statements; their text differs only in the numbers sent (a window's end
    # as epoch seconds is a float whose printed length varies by a few digits).
    assert large[:3] == small[:3] and abs(large[3] - small[3]) <= 32, (small, large)
    calls, keys, statements, characters = large
    # Two counters (username, address): on the database cache one upsert each, elsewhere a get of the
    # window's end and an incr each.
    assert calls <= 8 and keys <= 8, large
    assert statements <= 10 and characters <= 4000, large


@pytest.mark.django_db
def test_giving_back_a_success_and_a_throttled_attempt_are_constant_too(backend, monkeypatch):
    monkeypatch.setattr("django.conf.settings.THROTTLE_LOGIN_USERNAME", "100000/1m")
    counted, wait = throttling.login_attempt_begin(username="victim", ip="198.51.100.21")
    counter = CacheCalls(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        throttling.login_attempt_succeeded(slots=counted)
    assert counter.calls <= 4 and counter.keys <= 4 and len(queries.captured_queries) <= 8
    monkeypatch.setattr("django.conf.settings.THROTTLE_LOGIN_USERNAME", "1/1m")
    throttling.login_attempt_begin(username="victim", ip="198.51.100.21")
    counter = CacheCalls(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        counted, wait = throttling.login_attempt_begin(username="victim", ip="198.51.100.21")
    assert counted == [] and 1 <= wait <= 61
    assert counter.calls <= 6 and len(queries.captured_queries) <= 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_are_all_counted(backend, settings):
    settings.THROTTLE_LOGIN_USERNAME = "100000/1m"
    settings.THROTTLE_LOGIN_IP = "100000/1m"

    def fail_once():
        counted, wait = throttling.login_attempt_begin(username="victim", ip="198.51.100.22")
        return wait

    attempts = 24
    assert run_together([fail_once] * attempts) == [None] * attempts
    # No increment was lost: the window holds exactly the attempts (a zero step reads the count).
    for kind, value in (("user", "victim"), ("ip", "198.51.100.22")):
        failures, _ = throttling._count(throttling._key(kind, value), 0, 60, time.time())
        assert failures == attempts, (kind, failures)


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_over_the_limit_are_all_counted(backend, settings):
    """Ten guesses at once at a limit of ten: all are checked (401) and all are counted, so the next
    attempt, even with the right password, is throttled; then twelve at once over a limit of five
    from one address: exactly five are checked."""
    settings.THROTTLE_LOGIN_USERNAME = "10/15m"
    user = UserFactory()

    def guess(index):
        return login(APIClient(REMOTE_ADDR=f"10.3.0.{index}"), user.username, f"Guess-{index}-Wrong").status_code

    assert run_together([partial(guess, index) for index in range(10)]) == [401] * 10
    assert login(APIClient(REMOTE_ADDR="10.3.1.1"), user.username, PASSWORD).status_code == 429

    settings.THROTTLE_LOGIN_IP = "5/15m"

    def guess_from_one_address(index):
        return login(APIClient(REMOTE_ADDR="10.4.0.1"), f"nobody{index}", "Wrong-Password-0").status_code

    statuses = run_together([partial(guess_from_one_address, index) for index in range(12)])
    assert sorted(statuses) == [401] * 5 + [429] * 7, statuses
