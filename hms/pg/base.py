"""Django's PostgreSQL backend; a kept connection is checked by its socket, not by a query, and
timestamps are read by psycopg's C loader.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of every
request with `SELECT 1`: one more round trip to the database per request, for every read and write.
Between requests a healthy connection is idle and the server sends it nothing, so its socket has
nothing to read. A connection the server ended (a restart, `pg_terminate_backend`, an idle timeout)
has its error message or end-of-file waiting there. So the check here asks the socket, without
waiting (`select` with a zero timeout): readable, closed or broken -> closed, and Django opens a new
connection for the query, as it does after a failed `SELECT 1`. A connection found with errors at the
end of a request is still tested with a query (Django's `close_if_unusable_or_obsolete`).

Timestamps: to give every `timestamptz` value its time zone, Django registers a loader that subclasses
psycopg's pure-Python one, so each value is parsed in Python (about 2.9 µs; a page of 50 slots reads
100 of them). When Django's zone is UTC (USE_TZ without a database TIME_ZONE, this project's setup)
and the session's TimeZone is UTC (Django sets it on connect), psycopg's own C loader returns the same
values with the same tzinfo (`datetime.timezone.utc`), so the connection keeps that one (CTimestamps).
Plumbing: imports no app.
"""

import datetime
import functools
import select

from django.db.backends.postgresql import base
from psycopg import adapt

try:  # the C implementation psycopg registers by default (psycopg[binary])
    from psycopg_binary._psycopg import TimestamptzLoader as CTimestamptzLoader
except ImportError:  # pure-Python psycopg: Django's loader is as fast as any
    CTimestamptzLoader = None


class SocketHealthCheck:
    """Mixed into a PostgreSQL DatabaseWrapper (hms.pg, and hms.pg.metrics with django-prometheus)."""

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done or self.pool:
            return
        if not self.idle_socket_quiet():
            self.close()
        self.health_check_done = True

    def idle_socket_quiet(self) -> bool:
        """True when the idle connection's socket is open and holds nothing to read."""
        connection = self.connection
        if connection.closed or connection.broken:
            return False
        try:
            readable, _writable, _failed = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return not readable


@functools.cache
def _c_timestamps_context(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters for the connection (its template), with psycopg's C timestamptz loader back."""
    context = adapt.AdaptersMap(template)
    context.register_loader("timestamptz", CTimestamptzLoader)
    return context


class CTimestamps:
    """Mixed into a PostgreSQL DatabaseWrapper: timestamps read by psycopg's C loader in UTC (see above)."""

    def c_timestamps(self) -> bool:
        return CTimestamptzLoader is not None and self.timezone is datetime.UTC

    def get_connection_params(self):
        params = super().get_connection_params()
        if self.c_timestamps() and "context" in params:
            params["context"] = _c_timestamps_context(params["context"])
        return params

    def create_cursor(self, name=None):
        """Django's `create_cursor` without its time zone check, which reads the loader's `timezone`
        attribute (the C loader has none). Nothing to register on the cursor: the C loader reads each
        value in the session's TimeZone, which Django set to UTC (should a statement change it, the
        values are still the right instants, in that zone; Django's loader would relabel them UTC)."""
        loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
        if CTimestamptzLoader is None or loader is not CTimestamptzLoader:
            return super().create_cursor(name)
        if name:
            if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
                cursor = base.ServerSideCursor(
                    self.connection, name=name, scrollable=False, withhold=self.connection.autocommit
                )
            else:
                cursor = self.connection.cursor(name, scrollable=False, withhold=self.connection.autocommit)
        else:
            cursor = self.connection.cursor()
        return cursor


class DatabaseWrapper(CTimestamps, SocketHealthCheck, base.DatabaseWrapper):
    pass
