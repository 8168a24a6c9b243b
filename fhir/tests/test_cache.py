"""The Slot and Appointment searches kept on the read cache (READ_CACHE_SECONDS): served from it only
while no write has committed since and, for slots, until time changes a slot's status (a slot starts,
a hold lapses); Appointment Bundles are kept per caller. Real transactions: invalidation is on commit."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.models import Hold, Slot
from appointments.tests.factories import AppointmentFactory, SlotFactory
from conftest import client_for
from fhir.tests.conftest import fhir_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.READ_CACHE_SECONDS = 30


def _get(client, path, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    slot_reads = [q["sql"] for q in captured.captured_queries if 'FROM "appointments_' in q["sql"]]
    return response, slot_reads


def _statuses(bundle) -> dict:
    return {entry["resource"]["id"]: entry["resource"]["status"] for entry in bundle.get("entry", [])}


def test_slot_search_is_kept_until_a_write_commits(api, schedule, slot, patient):
    path = f"/fhir/R4/Slot?schedule={schedule.pk}&status=free"
    response, reads = _get(api, path)
    first = fhir_json(response)
    assert reads and first["total"] == 1
    response, reads = _get(api, path)
    assert reads == [] and fhir_json(response) == first
    # A booking (a committed write) ends the entry: the seat count is fresh.
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot.pk}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"}],
    }
    booked = client_for(patient).post("/fhir/R4/Appointment", json.dumps(body), content_type="application/fhir+json")
    assert booked.status_code == 201
    response, reads = _get(api, path)
    assert reads and fhir_json(response)["entry"][0]["resource"]["comment"] == "4 of 5 seats available"


def test_slot_search_is_not_kept_past_a_slot_start(api, schedule, slot):
    path = f"/fhir/R4/Slot?schedule={schedule.pk}"
    assert _statuses(fhir_json(api.get(path))) == {str(slot.pk): "free"}
    with time_machine.travel(slot.start + timedelta(seconds=1), tick=False):
        response, reads = _get(api, path)
        assert reads and _statuses(fhir_json(response)) == {str(slot.pk): "busy"}


def test_slot_search_is_not_kept_past_a_hold_lapse(api, schedule, patient):
    slot = SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, capacity=1)
    start = slot.start - timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        Hold.objects.create(
            slot=slot, patient=patient, hospital=slot.hospital, expires_at=start + timedelta(minutes=10)
        )
        Slot.objects.filter(pk=slot.pk).update(hold_count=1)
        path = f"/fhir/R4/Slot?schedule={schedule.pk}"
        assert _statuses(fhir_json(api.get(path))) == {str(slot.pk): "busy"}
        assert _get(api, path)[1] == []
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        response, reads = _get(api, path)
        assert reads and _statuses(fhir_json(response)) == {str(slot.pk): "free"}


def test_appointment_search_is_kept_per_caller(api, slot, patient, other_patient, admin_user):
    AppointmentFactory(slot=slot, patient=patient)
    path = f"/fhir/R4/Appointment?patient={patient.pk}"
    mine = fhir_json(client_for(patient).get(path))
    assert mine["total"] == 1
    response, reads = _get(client_for(patient), path)
    assert reads == [] and fhir_json(response) == mine
    # The same query by another caller is that caller's own search.
    assert fhir_json(client_for(other_patient).get(path))["total"] == 0
    assert fhir_json(client_for(admin_user).get(path))["total"] == 1
    # Signed out: still a 401, never a kept Bundle.
    response = api.get(path)
    assert response.status_code == 401 and fhir_json(response)["resourceType"] == "OperationOutcome"


def test_strict_handling_is_not_answered_from_a_lenient_entry(api, schedule, slot):
    path = f"/fhir/R4/Slot?schedule={schedule.pk}&unknown=1"
    assert api.get(path).status_code == 200
    response = api.get(path, HTTP_PREFER="handling=strict")
    assert response.status_code == 400 and fhir_json(response)["issue"][0]["code"] == "invalid"
