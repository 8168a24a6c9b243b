"""hms.api.cache.RedisCache.set_many: keys without expiry (the read cache's write generations) are one
MSET; with a timeout, Django's own pipeline. Same values, same expiries."""

import pytest

from hms.api.cache import RedisCache


@pytest.fixture
def backend(redis_url):
    cache = RedisCache(redis_url, {})
    yield cache
    cache.clear()


def test_keys_without_expiry_are_one_mset_and_never_expire(backend, monkeypatch):
    backend.set("old", "x", timeout=60)
    client = backend._cache.get_client(None, write=True)
    monkeypatch.setattr(client, "pipeline", lambda *a, **k: pytest.fail("no pipeline for keys without expiry"))
    sent = []
    original = client.mset
    monkeypatch.setattr(client, "mset", lambda mapping: sent.append(sorted(mapping)) or original(mapping))
    assert backend.set_many({"old": "new", "other": {"n": 1}}, timeout=None) == []
    assert sent == [[backend.make_and_validate_key("old"), backend.make_and_validate_key("other")]]
    assert backend.get_many(["old", "other"]) == {"old": "new", "other": {"n": 1}}
    assert client.ttl(backend.make_and_validate_key("old")) == -1  # no expiry left from before
    assert backend.set_many({}, timeout=None) == []


def test_keys_with_a_timeout_still_expire(backend):
    backend.set_many({"a": 1, "b": 2}, timeout=30)
    client = backend._cache.get_client(None, write=True)
    assert backend.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert 0 < client.ttl(backend.make_and_validate_key("a")) <= 30


def test_keys_are_not_checked_against_memcached_limits(backend, recwarn):
    """Redis takes any key: no CacheKeyWarning (memcached's length and character limits) on a long key
    with a space, and the value round-trips."""
    key = "hms:throttle:login " + "x" * 300
    backend.set(key, 7, timeout=30)
    assert backend.get_many([key]) == {key: 7}
    assert not [warning for warning in recwarn if warning.category.__name__ == "CacheKeyWarning"]
