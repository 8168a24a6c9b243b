"""One row of a viewset's scoped queryset by the path's pk, with the queryset machinery run once per shape.

`ScopedLookup(Model, *columns)` declares the lookup on a `ScopedQuerysetMixin` viewset. Its rows are
the viewset's own scoped queryset, `view.scope_queryset(Model.objects.filter(pk=pk)).values(*columns)`:
who sees which row is the mixin's declarations and nothing else (hidden or unknown -> None, which the
view answers with 404 as `get_object` does). The ORM builds and compiles that queryset the first time a
shape asks: the viewset class, the database, and the caller's `visibility_key()` (role, id and
hospital; for a public read only whether the caller sees deactivated rows). The compiled SQL is kept
(hms.api.compiled.KeptShapes, shared with FHIR's kept searches) and later requests of the shape run
it with their own pk bound in the pk's places: on PostgreSQL a statement planned once per connection
(hms.api.db). Building and compiling the queryset cost a hot write path more than the rest of its
lookup.

A shape is kept only when compiling it for another pk changed nothing but the parameters that are the
pk; anything else (SQL that embeds a value) leaves it compiled afresh on every request. A pk the
queryset would refuse (not an integer, beyond the column's range) finds no row, as the ORM answers.
Plumbing: imports no app.
"""

from django.db import connections, router

# CompiledRows and _UNSTABLE (what `_kept` holds for an unstable shape) stay importable from here.
from hms.api.compiled import UNSTABLE as _UNSTABLE  # noqa: F401
from hms.api.compiled import CompiledRows, KeptShapes  # noqa: F401

MAX_KEPT = 1024  # shapes kept per lookup and process (then forgotten all at once)


class ScopedLookup:
    """A viewset's lookup of one row, by pk, among the rows its scoped queryset shows the caller."""

    def __init__(self, model, *columns: str):
        self.model = model
        self.columns = columns
        self._shapes = KeptShapes(MAX_KEPT)
        self._kept = self._shapes.kept  # key -> the kept shape (or UNSTABLE)
        self._ranges: dict = {}  # database alias -> the pk column's (lowest, highest) value

    def queryset(self, view, pk):
        """The view's scoped queryset of `pk`, with the lookup's columns (unordered: one row at most)."""
        return view.scope_queryset(self.model.objects.filter(pk=pk)).order_by().values(*self.columns)

    def row(self, view, value) -> dict | None:
        """The row of the path's pk `value` the view's caller may see, as `.values()` gives it; else None."""
        alias = router.db_for_read(self.model)
        pk = self._pk(value, alias)
        if pk is None:
            return None
        key = (type(view), alias, view.visibility_key())
        shape = self._shapes.get(key)
        if shape is not None:
            return shape.rows.first(shape.params_for(pk))
        # Compiled (and kept when its shape is stable) against a partner pk the column can hold.
        _low, high = self._range(alias)
        partner = pk - 1 if high is not None and pk >= high else pk + 1
        rows = self._shapes.compile(key, lambda pk: self.queryset(view, pk), pk, partner, needs_value=True)
        return rows.first(rows.params)

    def _pk(self, value, alias: str) -> int | None:
        """`value` as the pk's lookup takes it (the field's own conversion), or None where the ORM finds
        no row: text that is no integer, or a number beyond the column's range."""
        try:
            pk = self.model._meta.pk.get_prep_value(value)
        except (TypeError, ValueError):
            return None
        low, high = self._range(alias)
        return pk if (low is None or pk >= low) and (high is None or pk <= high) else None

    def _range(self, alias: str) -> tuple[int | None, int | None]:
        span = self._ranges.get(alias)
        if span is None:
            span = connections[alias].ops.integer_field_range(self.model._meta.pk.get_internal_type())
            self._ranges[alias] = span
        return span
