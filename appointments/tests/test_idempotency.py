"""Idempotency-Key on booking (hms/api/idempotency.py)."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from accounts.tests.factories import UserFactory
from appointments import services
from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, SlotFactory
from conftest import client_for
from hms.api.exceptions import ServiceUnavailable

pytestmark = pytest.mark.django_db

KEY = "3f0c6a8e-6f7b-4c1e-9a57-1d2b1c0d9e11"


def post(client, path="/api/v1/appointments", key=KEY, **body):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_retry_with_same_key_replays_first_response_without_booking_again(patient_client, slot):
    first = post(patient_client, slot_id=slot.pk, reason="Check-up")
    second = post(patient_client, slot_id=slot.pk, reason="Check-up")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Appointment.objects.count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1


def test_body_key_order_does_not_matter(patient_client, slot):
    def raw(text):
        return patient_client.post(
            "/api/v1/appointments", text, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY
        )

    assert raw(f'{{"slot_id": {slot.pk}, "reason": "a"}}').status_code == 201
    again = raw(f'{{"reason":"a","slot_id":{slot.pk}}}')
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_same_key_with_different_body_is_422(patient_client, slot, doctor):
    assert post(patient_client, slot_id=slot.pk).status_code == 201
    other = SlotFactory(doctor=doctor)
    response = post(patient_client, slot_id=other.pk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Appointment.objects.count() == 1


def test_without_key_a_retry_books_again_or_conflicts(patient_client, slot):
    assert patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}).status_code == 201
    assert patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}).status_code == 409


def test_keys_are_scoped_per_user(patient_client, other_patient_client, slot):
    assert post(patient_client, slot_id=slot.pk).status_code == 201
    response = post(other_patient_client, slot_id=slot.pk)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Appointment.objects.count() == 2


def test_seed_alias_and_canonical_path_share_keys(patient_client, slot):
    first = post(patient_client, "/appointment/opd/book", slot_id=slot.pk)
    second = post(patient_client, "/api/v1/appointments/", slot_id=slot.pk)
    assert first.status_code == 201 and second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Appointment.objects.count() == 1


def test_error_answers_are_replayed_too(patient_client, doctor, admin_client):
    full = SlotFactory(doctor=doctor, capacity=1)
    AppointmentFactory(slot=full)
    first = post(patient_client, slot_id=full.pk)
    assert first.status_code == 409
    admin_client.patch(f"/api/v1/slots/{full.pk}", {"capacity": 2}, format="json")
    again = post(patient_client, slot_id=full.pk)
    assert again.status_code == 409 and again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    fresh = post(patient_client, key="another-key", slot_id=full.pk)
    assert fresh.status_code == 201


def test_server_errors_are_not_kept(patient_client, slot):
    real = services.appointment_book
    patient_client.raise_request_exception = False  # a 503 is reported as a server error
    with mock.patch.object(services, "appointment_book", side_effect=ServiceUnavailable()):
        assert post(patient_client, slot_id=slot.pk).status_code == 503
    with mock.patch.object(services, "appointment_book", side_effect=real):
        retry = post(patient_client, slot_id=slot.pk)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry


def test_same_key_while_first_request_runs_is_409(patient_client, slot):
    real = services.appointment_book
    seen = {}

    def slow_book(**kwargs):
        # The retry arrives while the first request is still inside the service.
        seen["concurrent"] = post(patient_client, slot_id=slot.pk)
        seen["different"] = post(patient_client, slot_id=slot.pk, reason="other body")
        return real(**kwargs)

    with mock.patch.object(services, "appointment_book", side_effect=slow_book):
        first = post(patient_client, slot_id=slot.pk)
    assert first.status_code == 201
    assert seen["concurrent"].status_code == 409
    assert seen["different"].status_code == 422
    # Once finished, the key replays the result.
    assert post(patient_client, slot_id=slot.pk).json() == first.json()
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "clé-unicode", "has space"])
def test_malformed_key_is_400(patient_client, slot, key):
    response = post(patient_client, key=key, slot_id=slot.pk)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "Idempotency-Key"
    assert not Appointment.objects.exists()


def test_kept_for_24_hours_only(patient, doctor):
    slot = SlotFactory(doctor=doctor, start=timezone.now() + timedelta(days=3))
    assert post(client_for(patient), slot_id=slot.pk).status_code == 201
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        replay = post(client_for(patient), slot_id=slot.pk)
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        late = post(client_for(patient), slot_id=slot.pk)
    assert late.status_code == 409 and "Idempotent-Replayed" not in late


def test_idempotency_key_is_documented(admin_client):
    schema = admin_client.get("/api/schema?format=json").json()
    operation = schema["paths"]["/api/v1/appointments/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    assert "422" in operation["responses"]


def test_unknown_user_key_scope_does_not_leak(slot):
    a, b = UserFactory(), UserFactory()
    post(client_for(a), slot_id=slot.pk)
    response = post(client_for(b), slot_id=slot.pk, reason="different")
    assert response.status_code == 201 and response.json()["patient_id"] == b.pk
