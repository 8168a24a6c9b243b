"""A cursor for the few hot statements PostgreSQL should plan once per connection.

Django's own queries use client-side parameter binding (psycopg's ClientCursor), which never
prepares. `prepared_cursor()` binds parameters on the server instead, so psycopg prepares a statement
once it has run `prepare_threshold` times on a connection (settings: DB_PREPARED_STATEMENTS) and
later runs skip PostgreSQL's parse and plan steps. The cursor is Django's wrapper, so its queries are
counted by the tests, logged and mapped to Django's database errors like any other.

psycopg also converts a statement's placeholders (`%(name)s` -> `$1`) on every execution, caching the
conversion only for statements under 4 KB (it expects longer ones to be an ORM's one-off batches).
These statements are a fixed few (the booking from a hold is 6 KB): their conversion is cached
whatever their length (a third of a millisecond per execution saved). That reaches into psycopg's
`_queries` module; were it to change, the cursor falls back to psycopg's own conversion
(hms/tests/test_prepared_cursor.py notices).
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper

try:
    from psycopg._queries import PostgresQuery, _query2pg_nocache
except ImportError:  # pragma: no cover - another psycopg: its own conversion
    PostgresQuery = None

if PostgresQuery is not None and hasattr(PostgresQuery, "_ensure_bytes"):
    _converted = functools.lru_cache(maxsize=512)(_query2pg_nocache)

    class _KeptConversionQuery(PostgresQuery):
        __slots__ = ()

        def convert(self, query, vars):
            if vars is None or not isinstance(query, str):
                return super().convert(query, vars)
            query = self._ensure_bytes(query)
            self.query, self._want_formats, self._order, self._parts = _converted(query, self._tx.encoding)
            self.dump(vars)

    class _StatementCursor(ServerBindingCursor):
        _query_cls = _KeptConversionQuery

else:  # pragma: no cover
    _StatementCursor = ServerBindingCursor


class _DebugWrapper(CursorDebugWrapper):
    """Logs the statement as written (with its placeholders): Django reads the text of the last query
    from a client-side cursor only, and would log None for this one."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


def prepared_cursor(using: str = DEFAULT_DB_ALIAS):
    db = connections[using]
    db.validate_thread_sharing()
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = _StatementCursor(db.connection)
    return _DebugWrapper(cursor, db) if db.queries_logged else db.make_cursor(cursor)
