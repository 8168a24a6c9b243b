"""Booking through FHIR (POST /fhir/R4/Appointment) runs the REST booking service; REST data appears in FHIR."""

import json

import pytest

from accounts.models import Activity
from appointments.models import Appointment, Slot
from appointments.tests.factories import AppointmentFactory
from conftest import client_for
from feed.models import PendingEvent
from fhir.tests.conftest import fhir_json, ids_of

pytestmark = pytest.mark.django_db


def appointment_body(slot_id, patient_id, **extra) -> dict:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
        **extra,
    }


def post(client, body, content_type="application/fhir+json", **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = client.post("/fhir/R4/Appointment", data, content_type=content_type, **headers)
    return response, fhir_json(response)


def test_patient_books_through_fhir_and_sees_it_in_the_rest_api(slot, patient):
    client = client_for(patient)
    response, body = post(client, appointment_body(slot.pk, patient.pk, description="Back pain"))
    assert response.status_code == 201, body
    appointment = Appointment.objects.get()
    assert response["Location"] == f"http://testserver/fhir/R4/Appointment/{appointment.pk}"
    assert body["id"] == str(appointment.pk) and body["status"] == "booked"
    assert body["slot"] == [{"reference": f"Slot/{slot.pk}"}]
    rest = client.get("/api/v1/appointments").json()
    assert [row["id"] for row in rest["results"]] == [appointment.pk]
    assert rest["results"][0]["reason"] == "Back pain" and rest["results"][0]["slot_id"] == slot.pk
    slot.refresh_from_db()
    assert slot.booked == 1
    # The service's audit entry and change-feed events, as for a REST booking.
    assert Activity.objects.filter(action="create", object_type="appointment", object_id=appointment.pk).exists()
    assert PendingEvent.objects.filter(topic=f"user.{patient.pk}", type="appointment.booked").exists()
    # And FHIR reads it back.
    again = fhir_json(client.get(f"/fhir/R4/Appointment/{appointment.pk}"))
    assert again == body


def test_plain_json_content_type_is_accepted(slot, patient):
    response, _ = post(client_for(patient), appointment_body(slot.pk, patient.pk), content_type="application/json")
    assert response.status_code == 201


def test_staff_books_for_a_patient(slot, hospital_admin, patient):
    response, body = post(client_for(hospital_admin), appointment_body(slot.pk, patient.pk))
    assert response.status_code == 201
    assert body["participant"][0]["actor"]["reference"] == f"Patient/{patient.pk}"


def test_full_slot_is_a_409_operation_outcome_with_the_refusal_code(schedule, patient):
    from appointments.tests.factories import SlotFactory

    slot = SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, capacity=1)
    AppointmentFactory(slot=slot)
    response, body = post(client_for(patient), appointment_body(slot.pk, patient.pk))
    assert response.status_code == 409
    issue = body["issue"][0]
    assert issue["code"] == "conflict"
    assert issue["details"]["coding"][0]["code"] == "slot_full"
    assert Appointment.objects.count() == 1


def test_already_booked_and_closed_slot_are_409(slot, patient):
    client = client_for(patient)
    assert post(client, appointment_body(slot.pk, patient.pk))[0].status_code == 201
    response, body = post(client, appointment_body(slot.pk, patient.pk))
    assert response.status_code == 409 and body["issue"][0]["details"]["coding"][0]["code"] == "already_booked"
    Slot.objects.filter(pk=slot.pk).update(status=Slot.Status.CLOSED)
    response, body = post(client, appointment_body(slot.pk, patient.pk))
    assert response.status_code == 409 and body["issue"][0]["details"]["coding"][0]["code"] == "slot_closed"


def test_idempotency_key_replays_the_first_booking(slot, patient):
    client = client_for(patient)
    first, body = post(client, appointment_body(slot.pk, patient.pk), HTTP_IDEMPOTENCY_KEY="fhir-key-1")
    again, replay = post(client, appointment_body(slot.pk, patient.pk), HTTP_IDEMPOTENCY_KEY="fhir-key-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert replay == body and again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Appointment.objects.count() == 1
    other, outcome = post(
        client, appointment_body(slot.pk, patient.pk, description="x"), HTTP_IDEMPOTENCY_KEY="fhir-key-1"
    )
    assert other.status_code == 422 and outcome["issue"][0]["code"] == "duplicate"


def test_who_may_book(slot, patient, other_patient, driver_user, api):
    response, body = post(api, appointment_body(slot.pk, patient.pk))
    assert response.status_code == 401 and body["issue"][0]["code"] == "login"
    response, body = post(client_for(patient), appointment_body(slot.pk, other_patient.pk))
    assert response.status_code == 403 and body["issue"][0]["code"] == "forbidden"
    assert post(client_for(driver_user), appointment_body(slot.pk, patient.pk))[0].status_code == 403
    assert Appointment.objects.count() == 0


def test_unknown_slot_is_404_and_bad_bodies_are_400(slot, patient):
    client = client_for(patient)
    assert post(client, appointment_body(999999, patient.pk))[0].status_code == 404
    assert post(client, appointment_body("abc", patient.pk))[0].status_code == 404
    assert post(client, appointment_body("99999999999999999999999", patient.pk))[0].status_code == 404
    junk = [
        "{not json",
        "[]",
        "null",
        '"text"',
        {"resourceType": "Patient"},
        {"resourceType": "Appointment"},
        {**appointment_body(slot.pk, patient.pk), "slot": "Slot/1"},
        {**appointment_body(slot.pk, patient.pk), "slot": [{"reference": 5}]},
        {**appointment_body(slot.pk, patient.pk), "slot": [{"reference": "Schedule/1"}]},
        {**appointment_body(slot.pk, patient.pk), "slot": [{"reference": "Slot/1"}, {"reference": "Slot/2"}]},
        {**appointment_body(slot.pk, patient.pk), "participant": []},
        {**appointment_body(slot.pk, patient.pk), "participant": ["x"]},
        {**appointment_body(slot.pk, patient.pk), "participant": [{"actor": {"reference": "Practitioner/1"}}]},
        {**appointment_body(slot.pk, patient.pk), "participant": [{"actor": "Patient/1"}]},
        {**appointment_body(slot.pk, patient.pk), "status": "fulfilled"},
        {**appointment_body(slot.pk, patient.pk), "description": 5},
        {**appointment_body(slot.pk, patient.pk), "description": "x" * 501},
        appointment_body(slot.pk, "abc"),
        appointment_body(slot.pk, "1e400"),
    ]
    for body in junk:
        response, outcome = post(client, body)
        assert response.status_code == 400, (body, outcome)
        assert outcome["issue"][0]["code"] == "invalid"
    response, _ = post(client, appointment_body(slot.pk, patient.pk), content_type="text/plain")
    assert response.status_code == 415
    assert Appointment.objects.count() == 0


def test_other_writes_are_405(api, slot, admin_user):
    client = client_for(admin_user)
    response = client.post("/fhir/R4/Slot", "{}", content_type="application/fhir+json")
    assert response.status_code == 405 and fhir_json(response)["issue"][0]["code"] == "not-supported"
    response = client.options("/fhir/R4/Slot")
    assert response.status_code == 405
    fhir_json(response)
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/fhir/R4/Slot/{slot.pk}", "{}", content_type="application/fhir+json")
        assert response.status_code == 405, method
        fhir_json(response)


def test_rest_bookings_and_visits_appear_in_fhir_with_references(slot, patient, doctor_user):
    rest = client_for(patient).post("/api/v1/appointments", {"slot_id": slot.pk, "reason": "Check-up"}, format="json")
    assert rest.status_code == 201
    appointment_id = rest.json()["id"]
    visit = client_for(doctor_user).post(
        "/api/v1/visits",
        {
            "appointment_id": appointment_id,
            "complaint": "Headache",
            "prescriptions": [{"medicine": "Ibuprofen", "dosage": "200 mg", "frequency": "twice", "duration_days": 3}],
        },
        format="json",
    )
    assert visit.status_code == 201, visit.content
    visit_id = visit.json()["id"]
    client = client_for(patient)
    bundle = fhir_json(client.get(f"/fhir/R4/Appointment?patient=Patient/{patient.pk}"))
    assert ids_of(bundle) == [str(appointment_id)]
    resource = bundle["entry"][0]["resource"]
    assert resource["status"] == "fulfilled"  # the visit completed it
    assert resource["slot"] == [{"reference": f"Slot/{slot.pk}"}]
    assert resource["participant"][1]["actor"]["reference"] == f"Practitioner/{slot.doctor_id}"
    encounters = fhir_json(client.get(f"/fhir/R4/Encounter?patient={patient.pk}"))
    assert ids_of(encounters) == [f"visit-{visit_id}"]
    assert encounters["entry"][0]["resource"]["appointment"] == [{"reference": f"Appointment/{appointment_id}"}]
    medication = fhir_json(client.get(f"/fhir/R4/MedicationRequest?encounter=Encounter/visit-{visit_id}"))
    assert medication["total"] == 1
    assert medication["entry"][0]["resource"]["subject"] == {"reference": f"Patient/{patient.pk}"}
    # Every reference resolves to a resource the patient may read.
    for ref in (f"Slot/{slot.pk}", f"Practitioner/{slot.doctor_id}", f"Schedule/{slot.opd_schedule_id}"):
        assert client.get(f"/fhir/R4/{ref}").status_code == 200
