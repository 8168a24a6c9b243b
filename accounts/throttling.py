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
    return f"loginfail:{kind}:{digest}:slot", f"loginfail:{kind}:{digest}:t0"


def _limits(username: str, ip: str):
    yield ("user", username, *parse_rate(settings.THROTTLE_LOGIN_USERNAME))
    yield ("ip", ip, *parse_rate(settings.THROTTLE_LOGIN_IP))


def _reserve(kind: str, value: str, limit: int, window: int, now: float) -> tuple[str | None, int]:
    """Take one of the `limit` failure slots of this window: (slot key, 0), or (None, seconds to wait).

    A slot is taken with cache.add, which is atomic on every backend (a unique row in the database
    cache, SET NX in Redis), so concurrent guesses can never take more than `limit` slots.
    """
    slot_prefix, start_key = _keys(kind, value)
    cache.add(start_key, now, window)
    remaining = max(int(cache.get(start_key, now) + window - now), 0) + 1
    slots = [f"{slot_prefix}:{number}" for number in range(limit)]
    taken = cache.get_many(slots)
    for slot in slots:
        if slot not in taken and cache.add(slot, 1, remaining):
            return slot, 0
    return None, remaining


def login_attempt_begin(*, username: str, ip: str) -> tuple[list[str], int | None]:
    """Count this attempt as a failure before the password is checked.

    Returns the slots taken (give them back with login_attempt_succeeded when the password is
    right) and None, or no slots and the seconds to wait when the username or the address is
    throttled. Counting first means concurrent guesses cannot all slip past the check while the
    slow password hash runs. A throttled attempt takes no slot, so it does not extend the window.
    """
    now = time.time()
    reserved = []
    for kind, value, limit, window in _limits(username, ip):
        slot, wait = _reserve(kind, value, limit, window, now)
        if slot is None:
            login_attempt_succeeded(slots=reserved)
            return [], wait
        reserved.append(slot)
    return reserved, None


def login_attempt_succeeded(*, slots: list[str]) -> None:
    """The password was right: the attempt was not a failure."""
    if slots:
        cache.delete_many(slots)
