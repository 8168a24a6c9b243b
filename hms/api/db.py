"""A cursor for the few hot statements PostgreSQL should plan once per connection.

Django's own queries use client-side parameter binding (psycopg's ClientCursor), which never
prepares. `prepared_cursor()` binds parameters on the server instead, so psycopg prepares a statement
once it has run `prepare_threshold` times on a connection (settings: DB_PREPARED_STATEMENTS) and
later runs skip PostgreSQL's parse and plan steps. The cursor is Django's wrapper, so its queries are
logged, counted by the tests and mapped to Django's database errors like any other.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor


def prepared_cursor(using: str = DEFAULT_DB_ALIAS):
    db = connections[using]
    db.validate_thread_sharing()
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = ServerBindingCursor(db.connection)
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)
