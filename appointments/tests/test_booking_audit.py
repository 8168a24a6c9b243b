"""A booking made outside a request (a command, a job) writes the same audit entry as the API: the actor
is named; the client address and request id are those of the request being served, so empty here."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Activity
from appointments import services
from appointments.tests.factories import SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db
both_booking_paths = pytest.mark.usefixtures("booking_path")


def _entry(appointment_id) -> Activity:
    return Activity.objects.get(action="create", object_type="appointment", object_id=str(appointment_id))


@both_booking_paths
def test_a_booking_made_by_calling_the_service_records_its_actor(patient, slot):
    appointment = services.appointment_book(by=patient, slot_id=slot.pk, reason="Booked by a job")
    entry = _entry(appointment.pk)
    assert (entry.actor_id, entry.actor_role, entry.actor_name) == (patient.pk, "user", patient.fullname)
    assert entry.patient_id == patient.pk
    assert (entry.ip, entry.request_id) == ("", "")


@both_booking_paths
def test_staff_booking_by_service_names_the_staff_member_and_the_patient(hospital_admin, patient, slot):
    appointment = services.appointment_book(by=hospital_admin, slot_id=slot.pk, patient_id=patient.pk)
    entry = _entry(appointment.pk)
    assert (entry.actor_id, entry.actor_role, entry.patient_id) == (hospital_admin.pk, "hospital_admin", patient.pk)


@both_booking_paths
def test_request_address_and_id_do_not_outlive_their_request(patient, doctor):
    first, second = SlotFactory.create_batch(2, doctor=doctor)
    client = client_for(patient)
    client.defaults.update(REMOTE_ADDR="192.0.2.44", HTTP_X_REQUEST_ID="req-booking-44")
    response = client.post("/api/v1/appointments", {"slot_id": first.pk}, format="json")
    assert response.status_code == 201, response.content
    entry = _entry(response.json()["id"])
    assert (entry.actor_id, entry.ip, entry.request_id) == (patient.pk, "192.0.2.44", "req-booking-44")

    later = services.appointment_book(by=patient, slot_id=second.pk)
    assert (_entry(later.pk).ip, _entry(later.pk).request_id) == ("", "")


def test_an_anonymous_report_records_no_actor_but_the_address(api: APIClient):
    response = api.post(
        "/api/v1/emergencies",
        {"contact_number": "+911234567890", "emergency_type": "accident", "address": "MG Road, Pune"},
        format="json",
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 201, response.content
    entry = Activity.objects.get(action="create", object_type="emergency", object_id=str(response.json()["id"]))
    assert (entry.actor_id, entry.actor_role, entry.ip) == (None, "", "198.51.100.7")
