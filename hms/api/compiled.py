"""A queryset's rows with the ORM's work done once: a `.values()` queryset compiled to SQL one time, then
its page (LIMIT/OFFSET) and its count run from that SQL.

The ORM builds and compiles a search's query once (visibility, filters, columns: the same queryset
the REST API's rules give); the count does not compile it a second time (it counts the page's SQL
with its outer ORDER BY left off), and the page's rows are dicts converted exactly as `.values()`
converts them (Django's own converters), with no model instances. `KeptShapes` keeps compiled rows by
shape, to run again with the parameters of a later request of the same shape: `fhir/shapes.py` a
search (a new instant), `hms.api.scoped_lookup` a viewset's scoped lookup of one row (a new pk).
Plumbing: imports no app. On
PostgreSQL the statements are prepared (hms.api.db): planning a search's joins cost the database
more than running them (Appointment?patient= at scale 0.05: 1.4 ms planning, 0.3 ms execution).
"""

import copy
import dataclasses
import re
import sys

from django.core.exceptions import EmptyResultSet
from django.db import connections

from hms.api.db import prepared_cursor


def cursor_for(alias: str):
    """On PostgreSQL, a cursor whose statements are planned once per connection (the same SQL runs for
    every request of a kept shape); elsewhere Django's."""
    if connections[alias].vendor == "postgresql":
        return prepared_cursor(alias)
    return connections[alias].cursor()


class CompiledRows:
    """The rows of an ordered, unsliced `.values()` queryset."""

    def __init__(self, queryset):
        query = queryset.query
        self.alias = queryset.db
        self.vendor = connections[self.alias].vendor
        self.model = queryset.model
        compiler = query.get_compiler(using=queryset.db)
        # As `ValuesIterable` names a row's columns.
        self._names = (
            tuple(query.selected)
            if query.selected
            else (*query.extra_select, *query.values_select, *query.annotation_select)
        )
        try:
            self.sql, self.params = compiler.as_sql()
        except EmptyResultSet:  # a filter that matches nothing (`.none()`, `pk__in=[]`)
            self.sql, self.params = None, ()
        self.count_sql, self._converters = None, ()
        if self.sql is not None:
            # Django's converters of the selected columns, as `results_iter` applies them (kept rather
            # than the compiler and its query: a kept shape stays a few kilobytes).
            fields = [selected[0] for selected in compiler.select[0 : compiler.col_count]]
            self._converters = tuple(compiler.get_converters(fields).items())
            sql = self.sql
            head, found, tail = sql.rpartition(" ORDER BY ")
            if queryset.ordered and found and "%s" not in tail:
                sql = head  # the order changes no count (and its sort would cost the database)
            self.count_sql = f'SELECT COUNT(*) AS "__count" FROM ({sql}) AS matches'  # noqa: S608 - the ORM's SQL

    def _cursor(self):
        # cursor_for without looking the connection up for its vendor (known since compiling).
        return prepared_cursor(self.alias) if self.vendor == "postgresql" else connections[self.alias].cursor()

    def bound(self, params) -> "CompiledRows":
        """The same SQL with other parameters (as many, in the same places)."""
        rows = copy.copy(self)
        rows.params = params
        return rows

    def first(self, params) -> dict | None:
        """The first row with `params` (as many as the SQL takes, in the same places), as `page(0, 1)` of
        `bound(params)` gives it, or None."""
        if self.sql is None:
            return None
        sql = self.__dict__.get("_first_sql")
        if sql is None:
            sql = self._first_sql = sys.intern(f"{self.sql} LIMIT 1")
        with self._cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if self._converters:
            row = self._converted(row, connections[self.alias])
        return dict(zip(self._names, row, strict=True))

    def page(self, offset: int, limit: int) -> list[dict]:
        """The rows from `offset`, at most `limit` of them, as dicts of the queryset's columns."""
        if self.sql is None or limit <= 0:
            return []
        sql = f"{self.sql} LIMIT {int(limit)}" + (f" OFFSET {int(offset)}" if offset else "")
        with self._cursor() as cursor:
            cursor.execute(sql, self.params)
            fetched = cursor.fetchall()
        names, indexes = self._names, range(len(self._names))
        if self._converters:
            fetched = [self._converted(row, connections[self.alias]) for row in fetched]
        return [{names[index]: row[index] for index in indexes} for row in fetched]

    def _converted(self, row, connection) -> list:
        row = list(row)
        for position, (converters, expression) in self._converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        return row

    def inlined(self, at: tuple[int, ...], inline) -> tuple["CompiledRows", tuple[int, ...]]:
        """The same rows with each parameter outside `at` for which `inline(value)` holds written into the
        SQL as a literal (PostgreSQL: psycopg's quoting); the positions of `at` among the parameters left.
        A prepared statement's generic plan uses a partial index (`WHERE status = 'open'`) only when the
        constant its predicate names is in the statement's text, not a parameter."""
        if self.sql is None or self.vendor != "postgresql":
            return self, at
        ops = connections[self.alias].ops
        written = {index: ops.compose_sql("%s", [value]) for index, value in enumerate(self.params)}
        kept = [index for index in range(len(self.params)) if index in at or not inline(self.params[index])]

        def rewrite(sql: str) -> str:
            position = iter(range(len(self.params)))

            def token(match):
                if match.group(0) == "%%":
                    return "%%"
                index = next(position)
                return "%s" if index in kept else written[index].replace("%", "%%")

            return _PLACEHOLDER.sub(token, sql)

        rows = copy.copy(self)
        rows.sql, rows.count_sql = rewrite(self.sql), rewrite(self.count_sql)
        rows.params = tuple(self.params[index] for index in kept)
        return rows, tuple(kept.index(index) for index in at)

    def count(self) -> int:
        if self.sql is None:
            return 0
        with self._cursor() as cursor:
            cursor.execute(self.count_sql, self.params)
            return cursor.fetchone()[0]


_PLACEHOLDER = re.compile(r"%%|%s")
UNSTABLE = object()  # a shape whose SQL changes with more than the varying value: compiled every time


@dataclasses.dataclass(frozen=True)
class KeptShape:
    """Compiled rows to run again with another value in the parameters at `at`; `extra`: what else the
    keeper compares before reusing them (e.g. the time zones a search's parameters were made with)."""

    rows: CompiledRows
    at: tuple[int, ...]  # the parameters that are the varying value
    extra: object = None

    def params_for(self, value) -> list:
        """The kept parameters with `value` (as the database takes it) in the varying value's places."""
        params = list(self.rows.params)
        for index in self.at:
            params[index] = value
        return params

    def bound(self, value) -> CompiledRows:
        """The kept rows with `value` in the varying value's places."""
        return self.rows.bound(tuple(self.params_for(value))) if self.at else self.rows


class KeptShapes:
    """Compiled rows kept per shape (a key naming everything the SQL is made of but one value: the pk of
    a lookup, the instant of a search), so a later request of the shape binds its own value instead of
    building and compiling the queryset again.

    A shape is kept only when compiling it for another value changed nothing but the parameters that
    are that value; anything else (SQL that embeds a value, another clock read) marks it UNSTABLE:
    compiled afresh on every request. At most `limit` shapes per keeper and process (then all are
    forgotten at once). `shape`: the class of the kept shapes (a KeptShape)."""

    def __init__(self, limit: int = 1024, shape: type[KeptShape] = KeptShape):
        self.limit, self.shape = limit, shape
        self.kept: dict = {}

    def get(self, key) -> KeptShape | None:
        shape = self.kept.get(key)
        return shape if isinstance(shape, KeptShape) else None

    def compile(
        self, key, build, value, other, *, adapt=None, needs_value=False, extra=None, inline=None
    ) -> CompiledRows:
        """`build(value)` compiled, and its shape kept under `key` when stable: `build(other)` compiles to
        the same SQL, its parameters differing only where they are `adapt(rows, value)` against
        `adapt(rows, other)` (the values as the database takes them; default: as given).
        `needs_value`: a shape whose parameters do not hold the value (and that runs SQL) is unstable.
        `extra()`, called after `build(value)`, is kept with the shape. `inline(parameter)`: which of a
        kept shape's other parameters to write into its SQL (CompiledRows.inlined)."""
        rows = CompiledRows(build(value))
        if self.kept.get(key) is UNSTABLE:
            return rows
        other_rows = CompiledRows(build(other))
        shape = UNSTABLE
        if other_rows.sql == rows.sql and len(other_rows.params) == len(rows.params):
            mine, theirs = (adapt(rows, value), adapt(other_rows, other)) if adapt else (value, other)
            pairs = enumerate(zip(rows.params, other_rows.params, strict=True))
            at = tuple(index for index, (a, b) in pairs if a != b)
            stable = all(rows.params[i] == mine and other_rows.params[i] == theirs for i in at)
            if stable and not (needs_value and rows.sql is not None and not at):
                if inline is not None:
                    rows, at = rows.inlined(at, inline)
                if rows.sql is not None:  # shapes of other callers share the text of their SQL
                    rows.sql, rows.count_sql = sys.intern(rows.sql), sys.intern(rows.count_sql)
                shape = self.shape(rows, at, extra() if extra else None)
        if len(self.kept) >= self.limit:
            self.kept.clear()
        self.kept[key] = shape
        return rows
