"""DRF's rate throttles, counting each request with one atomic step on the shared cache.

DRF's SimpleRateThrottle reads a caller's request history from the cache and writes it back: two
round trips, and concurrent requests of one caller overwrite each other's entries (a burst is
under-counted). `WindowCountThrottle` keeps DRF's rates, scopes, cache keys, 429 and Retry-After, and
counts instead in a window that opens at the caller's first counted request and lasts the rate's
period: on Redis one MULTI/EXEC round trip (hms.api.cache.RedisCache.count_in_window), elsewhere
(the database cache of a trial install) a read and a write, as DRF does.
"""

import math

from rest_framework import throttling


def count_in_window(cache, key: str, seconds: int, now: float) -> tuple[int, float]:
    """Count one request at `key`; returns the count in the current window and the seconds it has left."""
    counter = getattr(cache, "count_in_window", None)
    if counter is not None:
        return counter(key, seconds)
    window = cache.get(key)
    if window is None or window[0] <= now:
        window = (now + seconds, 0)
    window = (window[0], window[1] + 1)
    cache.set(key, window, timeout=math.ceil(window[0] - now))
    return window[1], window[0] - now


class WindowCountThrottle(throttling.SimpleRateThrottle):
    """At most `num_requests` per window of `duration` seconds. List it after a DRF throttle class
    (`class T(throttling.ScopedRateThrottle, WindowCountThrottle)`): DRF's class picks the rate and
    the key, this one counts."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self.seconds_left = count_in_window(self.cache, self.key, self.duration, self.timer())
        return count <= self.num_requests

    def wait(self):
        # Whole seconds, never 0: Retry-After is sent as an integer.
        return max(1, math.ceil(self.seconds_left))


class ScopedRateThrottle(throttling.ScopedRateThrottle, WindowCountThrottle):
    """DRF's ScopedRateThrottle (the view's `throttle_scope` names the rate), counted as above."""
