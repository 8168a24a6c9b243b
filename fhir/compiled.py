"""A search's rows with the ORM's work done once: a `.values()` queryset compiled to SQL one time, then
its page (LIMIT/OFFSET) and its count run from that SQL.

The ORM builds and compiles a search's query once (visibility, filters, columns: the same queryset
the REST API's rules give); the count does not compile it a second time (it counts the page's SQL
with its outer ORDER BY left off), and the page's rows are dicts converted exactly as `.values()`
converts them (Django's own converters), with no model instances. `fhir/shapes.py` keeps compiled
searches to run again with the parameters of a later request of the same shape (`bound`).
"""

import copy

from django.core.exceptions import EmptyResultSet
from django.db import connections


class CompiledRows:
    """The rows of an ordered, unsliced `.values()` queryset."""

    def __init__(self, queryset):
        query = queryset.query
        self.alias = queryset.db
        self.vendor = connections[self.alias].vendor
        self.model = queryset.model
        self._compiler = query.get_compiler(using=queryset.db)
        # As `ValuesIterable` names a row's columns.
        self._names = (
            tuple(query.selected)
            if query.selected
            else (*query.extra_select, *query.values_select, *query.annotation_select)
        )
        try:
            self.sql, self.params = self._compiler.as_sql()
        except EmptyResultSet:  # a filter that matches nothing (`.none()`, `pk__in=[]`)
            self.sql, self.params = None, ()
        self._count_sql = None
        if self.sql is not None:
            sql = self.sql
            head, found, tail = sql.rpartition(" ORDER BY ")
            if queryset.ordered and found and "%s" not in tail:
                sql = head  # the order changes no count (and its sort would cost the database)
            self._count_sql = f'SELECT COUNT(*) AS "__count" FROM ({sql}) AS matches'  # noqa: S608 - the ORM's SQL

    def bound(self, params) -> "CompiledRows":
        """The same SQL with other parameters (as many, in the same places)."""
        rows = copy.copy(self)
        rows.params = params
        return rows

    def page(self, offset: int, limit: int) -> list[dict]:
        """The rows from `offset`, at most `limit` of them, as dicts of the queryset's columns."""
        if self.sql is None or limit <= 0:
            return []
        sql = f"{self.sql} LIMIT {int(limit)}" + (f" OFFSET {int(offset)}" if offset else "")
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, self.params)
            fetched = cursor.fetchall()
        names, indexes = self._names, range(len(self._names))
        rows = self._compiler.results_iter(results=[fetched])
        return [{names[index]: row[index] for index in indexes} for row in rows]

    def count(self) -> int:
        if self.sql is None:
            return 0
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self._count_sql, self.params)
            return cursor.fetchone()[0]
