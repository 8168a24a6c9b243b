"""A list's page computed with the ORM's work done once per shape: the hottest computed lists.

`KeptListMixin` answers a list request from `.values()` rows of the viewset's own filtered queryset
(`filter_queryset(get_queryset())`: its scoping, filters, search and ordering, and their 400s), compiled
to SQL the first time a shape is asked and kept (hms.api.compiled.KeptShapes) to run again, prepared on
PostgreSQL, for later requests of the shape. A shape: the viewset class, the database, the caller's
`visibility_key()`, the server's time zone and every query parameter but `page` and `page_size`. The one
value that changes between two requests of a shape is the instant the rules are read at
(`read_instant(request)`: bookable, held, started), so a viewset whose queryset or filters read the clock
reads it there. A shape is kept only when compiling it at another instant changed nothing but the
parameters that are that instant; anything else leaves it compiled afresh on every request (correct,
only slower).

Rows are written by the viewset's `kept_list_row(row, now)` (no model instance, no serializer per row);
a test compares them with the viewset's serializer on random data. The page and its links are the
paginator's (hms.api.pagination): a page past the end, or page 0, goes the generic way (its 404).
Plumbing: imports no app.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from hms.api.compiled import CompiledRows, KeptShapes

MAX_KEPT = 1024  # shapes kept per process (then forgotten all at once)
MAX_KEY_TEXT = 1000  # longer query strings are not kept (compiled every time)
PAGE_PARAMETERS = ("page", "page_size")

_shapes = KeptShapes(MAX_KEPT)


def read_instant(request):
    """The instant a list request's rules are read at: the one a kept shape binds, else now."""
    now = getattr(request, "read_at", None)
    return now if now is not None else timezone.now()


def _written_in(value) -> bool:
    """The constants a kept statement holds as literals: text and booleans (the choices and flags that
    partial indexes name, e.g. `status = 'open'`); numbers stay parameters of the prepared statement."""
    return isinstance(value, str | bool)


def _instant(rows: CompiledRows, now):
    return connections[rows.alias].ops.adapt_datetimefield_value(now)


class KeptListMixin:
    """`kept_list_entry(request)`: one page as `{"count", "number", "results"}` (what the paginator's
    `response_from_entry` writes), or None where the generic list must answer."""

    kept_list_columns: tuple[str, ...] = ()  # the `.values()` columns `kept_list_row` reads

    def kept_list_row(self, row: dict, now) -> dict:
        raise NotImplementedError

    def kept_list_results(self, rows: list[dict], now) -> list[dict]:
        """A page's answers (a viewset that reads more per page, e.g. each row's events, writes them here)."""
        return [self.kept_list_row(row, now) for row in rows]

    def kept_list_count(self, request, now) -> int | None:
        """The list's exact count at `now` from something cheaper than counting its rows (maintained
        counters), or None: the rows are counted."""
        return None

    def kept_list_answers(self, request) -> bool:
        """Whether the kept rows answer this list request: JSON pages (a CSV export streams every row the
        generic way)."""
        renderer = getattr(request, "accepted_renderer", None)
        return renderer is None or renderer.format == "json"

    def kept_list_key(self, request, alias: str) -> tuple | None:
        given = tuple(
            sorted(
                (name, tuple(values)) for name, values in request.query_params.lists() if name not in PAGE_PARAMETERS
            )
        )
        if sum(len(name) + sum(len(value) for value in values) for name, values in given) > MAX_KEY_TEXT:
            return None
        return (type(self), alias, self.visibility_key(), settings.TIME_ZONE, given)

    def _kept_rows(self, request, now, *, columns: tuple[str, ...], part, order: str | None = None) -> CompiledRows:
        """The page's rows (`columns`), the rows counted (the primary key alone: no join that only writes a
        column), or the rows by `order`, compiled or kept."""

        def build(at):
            request.read_at = at
            try:
                queryset = self.filter_queryset(self.get_queryset())
                return (queryset.order_by(order) if order else queryset).values(*columns)
            finally:
                request.read_at = now

        alias = router.db_for_read(self.queryset.model)
        key = self.kept_list_key(request, alias)
        if key is None:
            return CompiledRows(build(now))
        key = (*key, part)
        kept = _shapes.get(key)
        if kept is not None:
            return kept.bound(_instant(kept.rows, now)) if kept.at else kept.rows
        return _shapes.compile(
            key, build, now, now - timedelta(seconds=1, microseconds=1), adapt=_instant, inline=_written_in
        )

    def kept_list_entry(self, request) -> dict | None:
        now = request.read_at = timezone.now()
        # The filters' 400s first, as the generic list answers them.
        rows = self._kept_rows(request, now, columns=self.kept_list_columns, part="rows")
        paginator = self.paginator
        size = paginator.get_page_size(request)
        number = paginator.get_page_number(request, None)
        if number < 1 or number * size >= 2**62:
            return None
        offset = (number - 1) * size
        found = rows.page(offset, size)
        if not found and number > 1:
            return None  # past the end: the paginator's 404
        if len(found) < size:  # the rows from the page's offset to the end are all on it
            count = offset + len(found)
        else:
            count = self.kept_list_count(request, now)
            if count is None:
                count = self._kept_rows(request, now, columns=("pk",), part="count").count()
        return {"count": count, "number": number, "results": self.kept_list_results(found, now)}

    def kept_list_lowest(self, request, column: str):
        """The lowest `column` among the list's rows (None without rows), at the instant of the last
        `kept_list_entry`: what a page kept on the read cache needs to know until when it holds."""
        now = read_instant(request)
        rows = self._kept_rows(request, now, columns=(column,), part=("lowest", column), order=column)
        found = rows.first(rows.params)
        return None if found is None else found[column]

    # Last in the class body: a method named `list` would shadow the builtin in the annotations below it.
    def list(self, request, *args, **kwargs):
        entry = self.kept_list_entry(request) if self.kept_list_answers(request) else None
        if entry is None:
            return super().list(request, *args, **kwargs)  # a page past the end (the paginator's 404), CSV
        return self.paginator.response_from_entry(entry, request)
