"""Django's PostgreSQL backend; a kept connection is checked by its socket, not by a query.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of every
request with `SELECT 1`: one more round trip to the database per request, for every read and write.
Between requests a healthy connection is idle and the server sends it nothing, so its socket has
nothing to read. A connection the server ended (a restart, `pg_terminate_backend`, an idle timeout)
has its error message or end-of-file waiting there. So the check here asks the socket, without
waiting (`select` with a zero timeout): readable, closed or broken -> closed, and Django opens a new
connection for the query, as it does after a failed `SELECT 1`. A connection found with errors at the
end of a request is still tested with a query (Django's `close_if_unusable_or_obsolete`).
Plumbing: imports no app.
"""

import select

from django.db.backends.postgresql import base


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


class DatabaseWrapper(SocketHealthCheck, base.DatabaseWrapper):
    pass
