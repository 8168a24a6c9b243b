"""Compiled searches kept by shape: a search asked again (the same type, caller and parameters) runs the
SQL the ORM compiled the first time, with the request's own instant, instead of building and
compiling the queryset again (most of a computed search's cost).

What a part's SQL and parameters are made of, and so the key: the part, the caller's role, id and
hospital (all `ScopedQuerysetMixin` and the parts' visibility read; for a public part, only whether
the caller sees deactivated hospitals), the search parameters that
filter (and the `_include`s, which add columns), the server's time zone, and, when dates were
searched, the hospitals' time zones in use (compared on every reuse: a new zone rebuilds). The
instant (`ctx.now`: bookable, held) is the one parameter that changes between two requests of a
shape: a shape is kept only when compiling it at another instant changed nothing but the
parameters that are that instant. Anything else that differed (another clock read, SQL that
embeds a value) leaves the shape compiled afresh on every request, as before. That check, the cap on
kept shapes and the binding are hms.api.compiled.KeptShapes, shared with the REST API's scoped lookups
(hms.api.scoped_lookup, whose varying value is the pk).
"""

import dataclasses
from datetime import timedelta

from django.conf import settings
from django.db import connections, router

from hms.api.compiled import UNSTABLE as _UNSTABLE  # noqa: F401 - what `_kept` holds for an unstable shape
from hms.api.compiled import KeptShape, KeptShapes
from hms.api.permissions import role_of
from hms.api.scoping import visibility_scope

from .compiled import CompiledRows

MAX_KEPT = 1024  # shapes kept per process (then forgotten all at once)
MAX_KEY_TEXT = 1000  # longer parameter values are not kept (an id list of hundreds)
NOT_PARAMETERS = ("_count", "_offset", "_format", "_pretty", "_include")


class Shape(KeptShape):
    """A kept search: `now_at` the parameters that are the instant; `extra` the hospitals' time zones
    the parameters were made with (None: no date searched)."""

    @property
    def now_at(self) -> tuple[int, ...]:
        return self.at


_shapes = KeptShapes(MAX_KEPT, shape=Shape)
_kept = _shapes.kept  # key -> the kept shape (or _UNSTABLE)


def shape_key(rtype, index: int, request, used, includes) -> tuple | None:
    """The key of one part's search, or None when it is not kept."""
    user = request.user
    if rtype.parts[index].public:
        caller = visibility_scope(user)  # every caller but administrators sees the same rows
    else:
        caller = (role_of(user), user.pk, getattr(user, "hospital_id", None)) if role_of(user) else None
    given = tuple((name, tuple(values)) for name, values in used if name not in NOT_PARAMETERS)
    if sum(len(value) for _, values in given for value in values) > MAX_KEY_TEXT:
        return None
    return (rtype.name, index, caller, settings.TIME_ZONE, given, tuple(includes))


def _instant(rows: CompiledRows, now):
    return connections[rows.alias].ops.adapt_datetimefield_value(now)


def _reused(shape: KeptShape, ctx) -> CompiledRows | None:
    rows = shape.rows
    if connections[router.db_for_read(rows.model)].vendor != rows.vendor:
        return None
    if shape.extra is not None and tuple(ctx.zones) != shape.extra:
        return None
    return shape.bound(_instant(rows, ctx.now)) if shape.at else rows


def compiled_rows(key, build, ctx) -> CompiledRows:
    """The part's compiled rows: kept ones bound to this request, else `build(ctx)` compiled (and kept
    when its shape is stable: the same search at another instant differs only in the instant's
    parameters)."""
    if key is None:
        return CompiledRows(build(ctx))
    kept = _shapes.get(key)
    if kept is not None:
        rows = _reused(kept, ctx)
        if rows is not None:
            return rows

    def build_at(now):
        return build(ctx if now is ctx.now else dataclasses.replace(ctx, now=now))

    return _shapes.compile(
        key,
        build_at,
        ctx.now,
        ctx.now - timedelta(seconds=1, microseconds=1),
        adapt=_instant,
        extra=lambda: tuple(ctx.zones) if ctx.zones_read else None,
    )
