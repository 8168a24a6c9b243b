"""A slow database never holds a worker: a statement past DB_STATEMENT_TIMEOUT_MS is cancelled and the
request answers 503 `database_timeout` in the error shape, with nothing changed."""

import threading
import time

import pytest
from django.db import connection, transaction

from appointments.models import Appointment, Slot
from appointments.tests.factories import SlotFactory
from conftest import client_for
from hms.tests.test_conventions import PRODUCTION, run_settings_probe


@pytest.mark.django_db(transaction=True)
def test_a_booking_stuck_behind_a_held_lock_answers_503_database_timeout(patient):
    slot = SlotFactory(capacity=5)
    locked, release = threading.Event(), threading.Event()

    def hold_the_slot():
        try:
            with transaction.atomic():
                Slot.objects.select_for_update().get(pk=slot.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    assert locked.wait(10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 300")  # what the web servers' connections carry
        client = client_for(patient)
        client.raise_request_exception = False  # a 5xx is reported to the error log, as in production
        started = time.monotonic()
        response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["type"] == "server_error" and body["errors"][0]["code"] == "database_timeout"
    assert response["Retry-After"]
    assert elapsed < 5
    assert not Appointment.objects.filter(slot=slot).exists()
    slot.refresh_from_db()
    assert slot.booked == 0


def test_web_servers_connections_carry_the_statement_timeout_and_commands_do_not():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['OPTIONS'].get('options', 'none'))"
    )
    database = {"DATABASE_URL": "postgres://hms@127.0.0.1:5432/hms", "DB_STATEMENT_TIMEOUT_MS": "2500"}
    served = run_settings_probe({**PRODUCTION, **database, "HMS_SERVING_REQUESTS": "1"}, code)
    assert served.returncode == 0, served.stderr[-2000:]
    assert served.stdout.strip() == "-c plan_cache_mode=force_generic_plan -c statement_timeout=2500"
    command = run_settings_probe({**PRODUCTION, **database}, code)
    assert command.returncode == 0, command.stderr[-2000:]
    assert command.stdout.strip() == "-c plan_cache_mode=force_generic_plan"
    pooled = run_settings_probe({**PRODUCTION, **database, "DB_PREPARED_STATEMENTS": "false"}, code)
    assert pooled.returncode == 0, pooled.stderr[-2000:]
    assert pooled.stdout.strip() == "none"  # nothing is prepared: no plan to keep


@pytest.mark.django_db
def test_a_prepared_statement_keeps_its_one_plan():
    """plan_cache_mode on the connection: PostgreSQL does not plan a prepared statement again per run."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"
