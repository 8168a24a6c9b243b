"""`Idempotency-Key` state lives in the database with the write it guards (hms.models.IdempotencyRecord),
so a cache outage or a cache restarted empty never lets a retry act twice; a claim left by a request
that died lapses after 60 seconds; answers expire after 24 hours and the job deletes them."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from appointments.models import Appointment
from appointments.tests.factories import SlotFactory
from conftest import client_for, run_together
from emergency.models import Emergency
from hms.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def book(client, slot, key="key-1", **extra):
    return client.post("/api/v1/appointments", {"slot_id": slot.pk, **extra}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def report(client, hospital, key="report-1"):
    body = {
        "contact_number": "9800000000",
        "emergency_type": "accident",
        "latitude": 18.52,
        "longitude": 73.85,
        "hospital_id": hospital.pk,
    }
    return client.post("/api/v1/emergencies", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_after_the_cache_was_emptied_replays_and_creates_nothing(patient, hospital):
    slot = SlotFactory(start=timezone.now() + timedelta(days=2))
    client = client_for(patient)
    first = book(client, slot)
    anonymous_first = report(APIClient(), hospital)
    assert first.status_code == 201 and anonymous_first.status_code == 201
    cache.clear()  # Redis restarted empty (or the database cache table emptied)
    again = book(client, slot)
    anonymous_again = report(APIClient(), hospital)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert anonymous_again.status_code == 201 and anonymous_again.json() == anonymous_first.json()
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert Emergency.objects.count() == 1


def test_a_claim_left_by_a_dead_request_lapses_after_60_seconds(patient):
    slot = SlotFactory(start=timezone.now() + timedelta(days=2))
    client = client_for(patient)
    # A request that claimed the key and died before answering (its transaction rolled back).
    first = book(client, slot)
    record = IdempotencyRecord.objects.get()
    IdempotencyRecord.objects.update(status=None, body=None, locked_until=timezone.now() + timedelta(seconds=60))
    Appointment.objects.all().delete()
    in_flight = book(client, slot)
    assert in_flight.status_code == 409 and in_flight.json()["errors"][0]["code"] == "idempotency_key_in_use"
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        retry = book(client, slot)
    assert first.status_code == 201 and retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert IdempotencyRecord.objects.get().lease != record.lease


@pytest.mark.django_db(transaction=True)
def test_a_request_that_lost_its_claim_writes_nothing(patient, monkeypatch):
    """The answer is stored only while the request still holds its lease; otherwise its write is undone."""
    from hms.api import idempotency

    slot = SlotFactory(start=timezone.now() + timedelta(days=2))
    real_store = idempotency._store

    def taken_meanwhile(scope, lease, response):
        # Another request took the lapsed claim and answered, on its own connection, meanwhile.
        def take():
            IdempotencyRecord.objects.filter(scope=scope).update(lease="someone-else", status=201, body='{"id": 0}')

        run_together([take])
        return real_store(scope, lease, response)

    monkeypatch.setattr(idempotency, "_store", taken_meanwhile)
    response = book(client_for(patient), slot)
    assert response.status_code == 201 and response.json() == {"id": 0}  # the other request's answer
    assert not Appointment.objects.filter(slot=slot).exists()
    slot.refresh_from_db()
    assert slot.booked == 0


def test_an_expired_answer_is_not_replayed_and_the_job_deletes_it(patient):
    slot = SlotFactory(start=timezone.now() + timedelta(days=3))
    assert book(client_for(patient), slot, key="old").status_code == 201
    assert book(client_for(patient), slot, key="fresh", reason="x").status_code == 409  # already booked
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        call_command("run_job", "hms.idempotency_prune")
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_retries_at_once_book_once(patient):
    slot = SlotFactory(start=timezone.now() + timedelta(days=2), capacity=30)
    responses = run_together([lambda: book(client_for(patient), slot, key="burst") for _ in range(20)])
    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert len(created) >= 1
    assert len({r.json()["id"] for r in created}) == 1  # every 201 is the one booking (first or replayed)
    conflicts = [r for r in responses if r.status_code == 409]
    assert all(r.json()["errors"][0]["code"] == "idempotency_key_in_use" for r in conflicts)
    assert Appointment.objects.filter(slot=slot).count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1
