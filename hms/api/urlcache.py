"""The root URL resolver's answers kept per path, in each process.

Django resolves every request's path by trying the URL patterns in turn (the routers' regular
expressions): 20-120 microseconds per request here, the same answer every time for a path. The root
resolver's `resolve` is wrapped in an LRU cache of `MAX_PATHS` paths (ids make paths unbounded: the
least recently used are forgotten). A path that resolves to nothing raises Resolver404 and is not kept.
A ResolverMatch is read, never changed, by Django and DRF (each view call gets its own kwargs dict).

The wrapper sits on the resolver instance that `get_resolver()` keeps for ROOT_URLCONF: when the URL
configuration changes (`clear_url_caches()`, e.g. a test's `override_settings(ROOT_URLCONF=...)`), a new
resolver without it answers, as Django's own. Plumbing: imports no app.
"""

import functools

from django.urls import get_resolver

MAX_PATHS = 4096


def keep_resolutions() -> None:
    resolver = get_resolver()
    if not hasattr(resolver.resolve, "cache_info"):
        resolver.resolve = functools.lru_cache(maxsize=MAX_PATHS)(resolver.resolve)
