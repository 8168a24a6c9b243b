"""/health (liveness, no database) and /health/ready (database and migrations), API.md 9."""

import socket

import pytest
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from hms.api import views

pytestmark = pytest.mark.django_db  # the root conftest clears the (database) cache around every test


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_health_is_200_without_touching_the_database(path, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_200_while_the_database_is_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        patch.setattr(connection, "ensure_connection", refuse)
        assert APIClient().get("/health").status_code == 200
        assert APIClient().get("/health/ready").status_code == 503


def test_health_needs_no_token_and_ignores_a_bad_one():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert client.get("/health").status_code == 200


def test_health_answers_plain_http_when_ssl_redirect_is_on(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = APIClient()
    assert client.get("/health").status_code == 200
    assert client.get("/health/ready/").status_code == 200
    assert client.get("/api/v1/users").status_code == 301


@pytest.mark.parametrize("path", ["/health/ready", "/health/ready/"])
def test_ready_is_200_when_database_answers_and_migrations_are_applied(path):
    response = APIClient().get(path)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_ready_is_503_naming_migrations_when_one_is_unapplied(monkeypatch):
    real_plan = MigrationExecutor.migration_plan

    def plan_with_one_pending(self, targets, clean_start=False):
        real_plan(self, targets, clean_start)
        migration = self.loader.get_migration("accounts", "0002_cache_table")
        return [(migration, False)]

    monkeypatch.setattr(MigrationExecutor, "migration_plan", plan_with_one_pending)
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] != "ok" and "1" in body["checks"]["migrations"]


def test_ready_is_503_when_a_migration_is_really_unrecorded():
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations WHERE app = 'accounts')"
        )
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "1 unapplied"}


def test_ready_is_503_naming_database_when_queries_fail(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the root conftest clears the cache
        patch.setattr(connection, "cursor", refuse)
        response = APIClient().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "unreachable"
    assert "refused" not in response.content.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_ready_is_503_when_the_database_server_is_unreachable():
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        response = APIClient().get("/health/ready")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"
    assert response.json()["status"] == "unavailable"


def test_pending_migrations_are_counted_from_the_executor_plan(monkeypatch):
    class FakeExecutor:
        def __init__(self, _connection):
            self.loader = type("Loader", (), {"graph": type("Graph", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            return [("a", False), ("b", False)]

    monkeypatch.setattr(views, "MigrationExecutor", FakeExecutor)
    assert views._unapplied_migrations() == 2
