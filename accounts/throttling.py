"""Login failure counters on the shared cache: per username and per client address.

DRF's rate parser reads only the first letter of the period ('5/15m' would be five a minute),
so login limits are parsed here; the window is fixed from the first failure.
"""

import hashlib
import re
import time

from django.conf import settings
from django.core.cache import cache

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


def parse_rate(rate: str) -> tuple[int, int]:
    """'5/15m' -> (5, 900); '20/hour' -> (20, 3600)."""
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"Cannot parse throttle rate {rate!r}; use e.g. '5/15m'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit]


def _keys(kind: str, value: str) -> tuple[str, str]:
    digest = hashlib.sha256(value.lower().encode()).hexdigest()[:32]
    return f"loginfail:{kind}:{digest}:n", f"loginfail:{kind}:{digest}:t0"


def _limits(username: str, ip: str):
    yield ("user", username, *parse_rate(settings.THROTTLE_LOGIN_USERNAME))
    yield ("ip", ip, *parse_rate(settings.THROTTLE_LOGIN_IP))


def login_retry_after(*, username: str, ip: str) -> int | None:
    """Seconds until login may be tried again, or None when not throttled."""
    now = time.time()
    wait = None
    for kind, value, limit, window in _limits(username, ip):
        count_key, start_key = _keys(kind, value)
        values = cache.get_many([count_key, start_key])
        if values.get(count_key, 0) >= limit:
            remaining = int(values.get(start_key, now) + window - now) + 1
            wait = max(wait or 0, max(remaining, 1))
    return wait


def login_failure_record(*, username: str, ip: str) -> None:
    now = time.time()
    for kind, value, _limit, window in _limits(username, ip):
        count_key, start_key = _keys(kind, value)
        cache.add(start_key, now, window)
        cache.add(count_key, 0, window)
        try:
            cache.incr(count_key)
        except ValueError:
            cache.set(count_key, 1, window)
