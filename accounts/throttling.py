"""Login failure counters on the shared cache: per username and per client address.

DRF's rate parser reads only the first letter of the period ('5/15m' would be five a minute),
so login limits are parsed here; the window is fixed from the first failure.

Each limit is one counter per window, changed with an atomic step, so an attempt costs a constant
number of cache operations whatever the limit (counting one key per allowed failure made a login
at 100000/1m read 100,000 keys):

- the database cache (the default without REDIS_URL): a row of the counters' own table
  (accounts/login_failures.py) holding the window's end and its count, changed by one atomic
  statement (an upsert), so the counter does not depend on how the cache backend stores values;
- Redis and the local-memory cache: the window's end under one key, opened with `cache.add` (one
  opener wins, SET NX on Redis), and a counter named after that end, changed with `cache.incr`
  (INCRBY on Redis, under a lock in local memory). A counter of an ended window is never read again.
"""

import hashlib
import math
import re
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache

from accounts import login_failures

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$")
_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
# A counter outlives its window's end by this much, so giving back a failure just before the end
# never finds it gone (a stale counter is never read: the next window's counter has another name).
_COUNTER_MARGIN_SECONDS = 60


def parse_rate(rate: str) -> tuple[int, int]:
    """'5/15m' -> (5, 900); '20/hour' -> (20, 3600)."""
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"Cannot parse throttle rate {rate!r}; use e.g. '5/15m'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit]


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.lower().encode()).hexdigest()[:32]
    return f"loginfail:{kind}:{digest}"


def _limits(username: str, ip: str):
    yield ("user", username, *parse_rate(settings.THROTTLE_LOGIN_USERNAME))
    yield ("ip", ip, *parse_rate(settings.THROTTLE_LOGIN_IP))


def _count_with_incr(key: str, delta: int, window: int, end: float | None, now: float) -> tuple[int, float]:
    """A window's end under `key`:end (opened by the first failure, cache.add), its count under `key`:<end>."""
    if end is None:
        end = cache.get(f"{key}:end")
        if end is None or end <= now:
            cache.add(f"{key}:end", now + window, window)
            end = cache.get(f"{key}:end", now + window)
    counter = f"{key}:{round(end * 1000)}"
    for _ in range(2):
        try:
            return cache.incr(counter, delta), end
        except ValueError:  # no counter yet in this window (or it expired: then there is nothing to give back)
            if delta < 0:
                return 0, end
            cache.add(counter, 0, max(math.ceil(end - now), 0) + _COUNTER_MARGIN_SECONDS)
    raise RuntimeError(f"could not count a login failure at {counter}")


def _count(key: str, delta: int, window: int, now: float, end: float | None = None) -> tuple[int, float]:
    """Add `delta` failures to the counter at `key`; returns the failures of its window and the window's end."""
    if isinstance(caches[DEFAULT_CACHE_ALIAS], DatabaseCache):
        if end is None:
            return login_failures.count(key, delta, window, now)
        return login_failures.give_back(key, delta, end), end
    return _count_with_incr(key, delta, window, end, now)


def forget_ended_windows(now: float | None = None) -> int:
    """Housekeeping: the database's counters of windows that ended (a minute's margin); none on a cache."""
    return login_failures.delete_ended(time.time() if now is None else now, _COUNTER_MARGIN_SECONDS)


def login_attempt_begin(*, username: str, ip: str) -> tuple[list[tuple[str, float]], int | None]:
    """Count this attempt as a failure before the password is checked.

    Returns the failures counted (give them back with login_attempt_succeeded when the password is
    right) and None, or nothing and the seconds to wait when the username or the address is
    throttled. Counting first means concurrent guesses cannot all slip past the check while the
    slow password hash runs. A throttled attempt is given back at once, so it is not counted and
    does not extend the window.
    """
    now = time.time()
    counted = []
    for kind, value, limit, window in _limits(username, ip):
        key = _key(kind, value)
        failures, end = _count(key, 1, window, now)
        if failures > limit:
            _count(key, -1, window, now, end)
            login_attempt_succeeded(slots=counted)
            return [], max(int(end - now), 0) + 1
        counted.append((key, end))
    return counted, None


def login_attempt_succeeded(*, slots: list[tuple[str, float]]) -> None:
    """The password was right: the attempt was not a failure (`slots`: what login_attempt_begin counted)."""
    now = time.time()
    for key, end in slots:
        _count(key, -1, 0, now, end)
