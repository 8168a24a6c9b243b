from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Appointment, Prescription, Visit
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

PRESCRIPTIONS = [
    {"medicine": "Paracetamol 500 mg", "dosage": "1 tablet", "frequency": "3x daily", "duration_days": 5,
     "instructions": "After food"},
    {"medicine": "ORS", "dosage": "1 sachet", "frequency": "as needed"},
]  # fmt: skip


def record_visit(client, **body):
    return client.post("/api/v1/visits", body, format="json")


def test_doctor_records_visit_with_prescriptions_and_completes_appointment(doctor_client, appointment, doctor):
    response = record_visit(
        doctor_client,
        appointment_id=appointment.pk,
        complaint="Fever",
        diagnosis="Viral fever",
        notes="Rest and fluids",
        prescriptions=PRESCRIPTIONS,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["appointment_id"] == appointment.pk and body["patient_id"] == appointment.patient_id
    assert body["doctor_id"] == doctor.pk and body["hospital_id"] == doctor.hospital_id
    assert [p["medicine"] for p in body["prescriptions"]] == ["Paracetamol 500 mg", "ORS"]
    assert body["prescriptions"][0]["duration_days"] == 5 and body["prescriptions"][1]["duration_days"] is None
    appointment.refresh_from_db()
    assert appointment.status == "completed"
    assert Activity.objects.filter(action="create", object_type="visit", patient_id=appointment.patient_id).exists()


def test_visit_completes_a_checked_in_appointment(doctor_client, appointment):
    Appointment.objects.filter(pk=appointment.pk).update(status="checked_in")
    assert record_visit(doctor_client, appointment_id=appointment.pk).status_code == 201
    appointment.refresh_from_db()
    assert appointment.status == "completed"


@pytest.mark.parametrize("status", ["completed", "cancelled", "no_show"])
def test_visit_for_closed_appointment_is_409(doctor_client, slot, status):
    closed = AppointmentFactory(slot=slot, status=status)
    assert_error(record_visit(doctor_client, appointment_id=closed.pk), 409, code="illegal_transition")
    assert not Visit.objects.exists()
    closed.refresh_from_db()
    assert closed.status == status


def test_second_visit_for_same_appointment_is_409(doctor_client, appointment):
    assert record_visit(doctor_client, appointment_id=appointment.pk).status_code == 201
    assert_error(record_visit(doctor_client, appointment_id=appointment.pk), 409, code="illegal_transition")
    assert Visit.objects.count() == 1


def test_visit_for_another_doctors_appointment_is_400(doctor_client, doctor, hospital, patient):
    colleague_slot = SlotFactory(doctor=DoctorFactory(hospital=hospital))
    theirs = AppointmentFactory(slot=colleague_slot, patient=patient)
    response = record_visit(doctor_client, appointment_id=theirs.pk)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "appointment_id"
    theirs.refresh_from_db()
    assert theirs.status == "booked" and not Visit.objects.exists()


def test_visit_without_appointment_for_own_patient(doctor_client, appointment):
    response = record_visit(doctor_client, patient_id=appointment.patient_id, complaint="Follow-up")
    assert response.status_code == 201 and response.json()["appointment_id"] is None
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_visit_for_a_stranger_is_400(doctor_client, doctor, other_patient):
    response = record_visit(doctor_client, patient_id=other_patient.pk)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "patient_id"


def test_visit_needs_patient_or_appointment(doctor_client, doctor):
    response = record_visit(doctor_client, complaint="?")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "patient_id"


def test_patient_id_must_match_the_appointment(doctor_client, appointment, other_patient):
    response = record_visit(doctor_client, appointment_id=appointment.pk, patient_id=other_patient.pk)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "patient_id"


@pytest.mark.parametrize(
    "prescription,attr",
    [
        ({"dosage": "1"}, "prescriptions.0.medicine"),
        ({"medicine": "x" * 201}, "prescriptions.0.medicine"),
        ({"medicine": "A", "duration_days": 0}, "prescriptions.0.duration_days"),
        ({"medicine": "A", "duration_days": 366}, "prescriptions.0.duration_days"),
    ],
)
def test_bad_prescription_is_400_with_dotted_attr(doctor_client, appointment, prescription, attr):
    response = record_visit(doctor_client, appointment_id=appointment.pk, prescriptions=[prescription])
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr
    assert not Visit.objects.exists()
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_too_many_prescriptions_is_400(doctor_client, appointment):
    response = record_visit(doctor_client, appointment_id=appointment.pk, prescriptions=[{"medicine": "A"}] * 51)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "prescriptions"


def test_visit_in_the_future_is_400(doctor_client, appointment):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = record_visit(doctor_client, appointment_id=appointment.pk, visited_at=later)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "visited_at"


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "patient_client", "driver_client"])
def test_only_doctors_record_visits(request, client_name, appointment):
    response = record_visit(request.getfixturevalue(client_name), appointment_id=appointment.pk)
    assert response.status_code == 403 and not Visit.objects.exists()


def test_doctor_account_without_profile_cannot_record(hospital, appointment):
    bare = UserFactory(role="doctor", hospital=hospital)
    assert record_visit(client_for(bare), appointment_id=appointment.pk).status_code == 403


@pytest.fixture
def visit(doctor_client, appointment):
    body = record_visit(doctor_client, appointment_id=appointment.pk, prescriptions=PRESCRIPTIONS).json()
    return Visit.objects.get(pk=body["id"])


@pytest.mark.parametrize(
    "client_name,visible",
    [
        ("patient_client", True),
        ("doctor_client", True),
        ("hospital_admin_client", True),
        ("admin_client", True),
        ("other_patient_client", False),
        ("driver_client", False),
    ],
)
def test_visit_visibility(request, client_name, visible, visit):
    client = request.getfixturevalue(client_name)
    response = client.get(f"/api/v1/visits/{visit.pk}")
    assert response.status_code == (200 if visible else 404)
    if visible:
        assert len(response.json()["prescriptions"]) == 2
    assert [v["id"] for v in client.get("/api/v1/visits").json()["results"]] == ([visit.pk] if visible else [])
    assert Activity.objects.filter(
        action="read" if visible else "read_denied", object_type="visit", object_id=str(visit.pk)
    ).exists()


def test_colleague_doctor_and_other_hospital_admin_do_not_see_visit(visit, hospital, other_hospital):
    colleague = DoctorFactory(hospital=hospital)
    assert client_for(colleague.user).get(f"/api/v1/visits/{visit.pk}").status_code == 404
    stranger = UserFactory(role="hospital_admin", hospital=other_hospital)
    assert client_for(stranger).get(f"/api/v1/visits/{visit.pk}").status_code == 404


def test_visits_are_never_changed_or_deleted(admin_client, doctor_client, visit):
    assert doctor_client.patch(f"/api/v1/visits/{visit.pk}", {"notes": "x"}).status_code == 405
    assert admin_client.delete(f"/api/v1/visits/{visit.pk}").status_code == 405
    assert Visit.objects.filter(pk=visit.pk).exists() and Prescription.objects.count() == 2


def test_visit_filters(admin_client, visit, patient):
    assert admin_client.get(f"/api/v1/visits?patient_id={patient.pk}").json()["count"] == 1
    assert admin_client.get(f"/api/v1/visits?patient_id={patient.pk + 1000}").json()["count"] == 0
    assert admin_client.get(f"/api/v1/visits?from={timezone.now().date()}").json()["count"] == 1


def test_visit_list_query_budget(doctor_client, doctor, django_assert_max_num_queries):
    for _ in range(15):
        appointment = AppointmentFactory(slot=SlotFactory(doctor=doctor))
        record_visit(doctor_client, appointment_id=appointment.pk, prescriptions=PRESCRIPTIONS)
    with django_assert_max_num_queries(5):
        response = doctor_client.get("/api/v1/visits?page_size=15")
    assert len(response.json()["results"]) == 15
