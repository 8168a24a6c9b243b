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
embeds a value) leaves the shape compiled afresh on every request, as before.
"""

import dataclasses
import sys
from datetime import timedelta

from django.conf import settings
from django.db import connections, router

from hms.api.permissions import role_of
from hms.api.scoping import visibility_scope

from .compiled import CompiledRows

MAX_KEPT = 1024  # shapes kept per process (then forgotten all at once)
MAX_KEY_TEXT = 1000  # longer parameter values are not kept (an id list of hundreds)
NOT_PARAMETERS = ("_count", "_offset", "_format", "_pretty", "_include")

_kept: dict = {}
_UNSTABLE = object()  # a shape whose SQL changes with more than the instant


@dataclasses.dataclass(frozen=True)
class Shape:
    rows: CompiledRows
    now_at: tuple[int, ...]  # the parameters that are the instant
    zones: tuple[str, ...] | None  # the hospitals' time zones the parameters were made with


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


def _reused(shape: Shape, model, ctx) -> CompiledRows | None:
    rows = shape.rows
    if connections[router.db_for_read(model)].vendor != rows.vendor:
        return None
    if shape.zones is not None and tuple(ctx.zones) != shape.zones:
        return None
    if not shape.now_at:
        return rows
    params, instant = list(rows.params), _instant(rows, ctx.now)
    for index in shape.now_at:
        params[index] = instant
    return rows.bound(tuple(params))


def compiled_rows(key, build, ctx) -> CompiledRows:
    """The part's compiled rows: kept ones bound to this request, else `build(ctx)` compiled (and kept
    when its shape is stable)."""
    if key is None:
        return CompiledRows(build(ctx))
    kept = _kept.get(key)
    if isinstance(kept, Shape):
        rows = _reused(kept, kept.rows.model, ctx)
        if rows is not None:
            return rows
    rows = CompiledRows(build(ctx))
    if kept is _UNSTABLE:
        return rows
    # The same search at another instant: only the instant's parameters may differ.
    other_now = ctx.now - timedelta(seconds=1, microseconds=1)
    other = CompiledRows(build(dataclasses.replace(ctx, now=other_now)))
    shape = _UNSTABLE
    if other.sql == rows.sql and len(other.params) == len(rows.params):
        instant, other_instant = _instant(rows, ctx.now), _instant(other, other_now)
        now_at = tuple(index for index, (a, b) in enumerate(zip(rows.params, other.params, strict=True)) if a != b)
        if all(rows.params[i] == instant and other.params[i] == other_instant for i in now_at):
            # Shapes of one search for other callers or ids share the text of their SQL.
            if rows.sql is not None:
                rows.sql, rows.count_sql = sys.intern(rows.sql), sys.intern(rows.count_sql)
            shape = Shape(rows, now_at, tuple(ctx.zones) if ctx.zones_read else None)
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    _kept[key] = shape
    return rows
