"""A cursor for the few hot statements PostgreSQL should plan once per connection.

Django's own queries use client-side parameter binding (psycopg's ClientCursor), which never
prepares. `prepared_cursor()` binds parameters on the server instead, so psycopg prepares a statement
once it has run `prepare_threshold` times on a connection (settings: DB_PREPARED_STATEMENTS) and
later runs skip PostgreSQL's parse and plan steps. The cursor is Django's wrapper, so its queries are
counted by the tests, logged and mapped to Django's database errors like any other.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper


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
        cursor = ServerBindingCursor(db.connection)
    return _DebugWrapper(cursor, db) if db.queries_logged else db.make_cursor(cursor)
