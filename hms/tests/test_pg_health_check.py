"""hms.pg: a kept connection's health is read from its socket (no SELECT 1 per request); a connection
the server ended is replaced before the request's first query, a healthy one is kept."""

import time

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from hms.pg.base import SocketHealthCheck

pytestmark = [pytest.mark.django_db(transaction=True)]
connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not Django's proxy to it


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _request_starts() -> None:
    # What Django's request_started signal does to a kept connection (close_old_connections).
    connection.close_if_unusable_or_obsolete()
    assert connection.health_check_done is False


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's check")
def test_a_connection_the_server_ended_is_replaced_and_a_healthy_one_kept():
    assert isinstance(connection, SocketHealthCheck)
    assert connection.health_check_enabled
    first = _backend_pid()
    _request_starts()
    assert connection.idle_socket_quiet()
    assert _backend_pid() == first  # healthy: kept

    _terminate(first)
    deadline = time.monotonic() + 5
    while connection.idle_socket_quiet() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not connection.idle_socket_quiet()  # the server's goodbye waits on the socket
    _request_starts()
    second = _backend_pid()  # no error: the check closed it, Django connected again
    assert second != first
    _request_starts()
    assert _backend_pid() == second
