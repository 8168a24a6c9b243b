"""The root URL resolver's answers kept per path, and per path *shape*, in each process.

Django resolves every request's path by trying the URL patterns in turn (the routers' regular
expressions): 20-120 microseconds per request here, the same answer every time for a path. The root
resolver's `resolve` is wrapped in an LRU cache of `MAX_PATHS` paths. A path that resolves to nothing
raises Resolver404 and is not kept. A ResolverMatch is read, never changed, by Django and DRF (each view
call gets its own kwargs dict).

Paths that carry ids (`/api/v1/slots/812/hold`) rarely repeat, so they are answered by their shape
instead and not kept one by one (a worker sees ids without end; kept per path, they filled the LRU).
The shape is the path with each all-digit segment replaced by its length (`/api/v1/slots/#3/hold`).
The first path of a shape is resolved by Django (and kept); the shape is learnt when Django resolves
another path of the same shape, with other digits in every segment, to the same route, view and names,
with each captured value read from one digit segment (as text, or as an int by an `int` converter):
then a later path of the shape gets that route's match with its own segments' values, exactly what
Django would answer (hms/tests/test_urlcache.py compares the two for every route). The lengths are
part of the shape, so a pattern that bounds an id's length (`[0-9]{1,19}`) is never answered for a
longer one.

The wrapper sits on the resolver instance that `get_resolver()` keeps for ROOT_URLCONF: when the URL
configuration changes (`clear_url_caches()`, e.g. a test's `override_settings(ROOT_URLCONF=...)`), a new
resolver without it answers, as Django's own. Plumbing: imports no app.
"""

import functools
import re

from django.urls import Resolver404, ResolverMatch, get_resolver

MAX_PATHS = 4096
MAX_SHAPES = 1024
_DIGITS = re.compile(r"(?<=/)[0-9]+(?=/|$)")


def _shape(path: str) -> tuple[str, list[str]]:
    return _DIGITS.sub(lambda digits: f"#{len(digits.group(0))}", path), _DIGITS.findall(path)


def _other_digits(segments: list[str]) -> list[str] | None:
    """The same lengths, other digits in each segment, no two segments alike (None: no such choice)."""
    chosen = []
    for index, segment in enumerate(segments):
        length = len(segment)
        low = 10 ** (length - 1) if length > 1 else 1
        for candidate in range(low + index + 1, min(10**length, low + index + 40)):
            text = str(candidate)
            if text != segment and len(text) == length and text not in chosen and int(text) != int(segment):
                chosen.append(text)
                break
        else:
            return None
    return chosen


def _values(positions: dict, segments: list[str]) -> dict:
    return {name: int(segments[index]) if as_int else segments[index] for name, (index, as_int) in positions.items()}


class ShapeResolver:
    """`resolve(path)` for the root resolver: by its shape once learnt, else by Django (kept per path)."""

    def __init__(self, resolve):
        self.django_resolve = resolve
        self.shapes: dict[str, tuple[ResolverMatch, dict] | None] = {}
        self.by_path = functools.lru_cache(maxsize=MAX_PATHS)(self._by_django)

    def resolve(self, path: str) -> ResolverMatch:
        shape, segments = _shape(path)
        learnt = self.shapes.get(shape) if segments else None
        if learnt is None:
            return self.by_path(path)
        match, positions = learnt
        captured = _values(positions, segments)
        return ResolverMatch(
            match.func,
            (),
            {**captured, **match.extra_kwargs},
            url_name=match.url_name,
            app_names=match.app_names,
            namespaces=match.namespaces,
            route=match.route,
            tried=match.tried,
            captured_kwargs=captured,
            extra_kwargs=match.extra_kwargs,
        )

    def _by_django(self, path: str) -> ResolverMatch:
        match = self.django_resolve(path)
        shape, segments = _shape(path)
        if segments and shape not in self.shapes and len(self.shapes) < MAX_SHAPES:
            self.shapes[shape] = self._learn(path, segments, match)
        return match

    def _learn(self, path: str, segments: list[str], match: ResolverMatch) -> tuple[ResolverMatch, dict] | None:
        """The shape's route and where each captured value sits, if another path of the shape resolves to
        the same route with its own digits in their place; None (resolved by Django every time) else."""
        others = _other_digits(segments)
        if others is None or match.args:
            return None
        parts = iter(others)
        other_path = _DIGITS.sub(lambda _digits: next(parts), path)
        try:
            other = self.django_resolve(other_path)
        except Resolver404:
            return None
        same = (other.func, other.route, other.url_name, other.namespaces, other.extra_kwargs) == (
            match.func,
            match.route,
            match.url_name,
            match.namespaces,
            match.extra_kwargs,
        )
        if not same or other.args:
            return None
        positions = {}
        for name, value in other.captured_kwargs.items():
            as_int = type(value) is int
            found = [index for index, text in enumerate(others) if (int(text) if as_int else text) == value]
            if len(found) != 1:
                return None
            positions[name] = (found[0], as_int)
        if _values(positions, segments) != match.captured_kwargs:
            return None
        return match, positions


def keep_resolutions() -> None:
    resolver = get_resolver()
    if not isinstance(getattr(resolver.resolve, "__self__", None), ShapeResolver):
        resolver.resolve = ShapeResolver(resolver.resolve).resolve
