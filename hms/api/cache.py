"""Django's Redis cache backend, keeping one client per connection pool.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every cache call, and redis-py
fills a table of some eighty response callbacks in each: measured at about a third of a millisecond per
request that reads the cache twice (the token user, then the figures). A `redis.Redis` is safe to share
between threads (each command takes a connection from the pool), so one per pool is kept instead.
Everything else (serialization, pools, timeouts, errors) is Django's. `count_in_window` is the
throttles' atomic counter (hms.api.throttling). Keys set without expiry are written by one MSET.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def set_many(self, data, timeout):
        if timeout is not None or not data:
            return super().set_many(data, timeout)
        # Keys that never expire (the read cache's write generations, replaced after every write): one
        # MSET, atomic by itself, instead of Django's pipeline wrapping it in MULTI/EXEC.
        self.get_client(None, write=True).mset({key: self._serializer.dumps(value) for key, value in data.items()})


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def validate_key(self, key):
        """Django checks every key, character by character, against memcached's limits (length,
        spaces, control characters) so that code stays portable to it. Redis takes any key, and the
        keys here are the app's own: the check cost about 1% of a request's CPU, on every cache call."""

    def count_in_window(self, key: str, seconds: int) -> tuple[int, float]:
        """Add one to the counter at `key`, which lives `seconds` from its first count, in one atomic
        round trip (hms.api.throttling); returns the count and the seconds the window has left."""
        key = self.make_and_validate_key(key)
        with self._cache.get_client(key, write=True).pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=seconds, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, left = pipe.execute()
        return count, max(left, 0) / 1000
