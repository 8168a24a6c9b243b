"""Booking (POST /api/v1/appointments): every rule, role and status code, on both booking paths.

On PostgreSQL a booking is one statement; the locking path books on other databases and decides
when the slot changed under that statement. `booking_path` runs each test here on both.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, SlotFactory
from conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("booking_path")]


def book(client, slot, **extra):
    return client.post("/api/v1/appointments", {"slot_id": slot.pk, **extra}, format="json")


def _started_slot(doctor, minutes_ago=30):
    start = timezone.now() - timedelta(minutes=minutes_ago)
    return SlotFactory(doctor=doctor, start=start, end=start + timedelta(hours=1))


def test_patient_books_a_seat(patient_client, patient, slot, doctor, hospital):
    response = book(patient_client, slot, reason="Fever for three days")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["patient_id"] == patient.pk and body["patient"]["fullname"] == patient.fullname
    assert body["doctor_id"] == doctor.pk and body["doctor"]["specialization"] == doctor.specialization
    assert body["hospital_id"] == hospital.pk and body["slot_id"] == slot.pk
    assert body["token_number"] == 1 and body["status"] == "booked" and body["reason"] == "Fever for three days"
    assert body["start"].endswith("+05:30") and body["cancel_reason"] == ""
    slot.refresh_from_db()
    assert slot.booked == 1 and slot.last_token == 1
    entry = Activity.objects.get(action="create", object_type="appointment", object_id=str(body["id"]))
    assert (entry.patient_id, entry.actor_id, entry.actor_role, entry.actor_name) == (
        patient.pk,
        patient.pk,
        "user",
        patient.fullname,
    )
    assert entry.ip == "127.0.0.1" and entry.request_id
    # The answer is the appointment as stored.
    assert patient_client.get(f"/api/v1/appointments/{body['id']}").json() == body


def test_donor_books_for_itself(donor_client, donor, slot):
    response = book(donor_client, slot)
    assert response.status_code == 201 and response.json()["patient_id"] == donor.pk


def test_tokens_count_up_within_a_slot(slot):
    tokens = [book(client_for(UserFactory()), slot).json()["token_number"] for _ in range(3)]
    assert tokens == [1, 2, 3]


def test_unknown_slot_is_404(patient_client):
    response = patient_client.post("/api/v1/appointments", {"slot_id": 999999}, format="json")
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_missing_or_bad_slot_id_is_400(patient_client):
    for body in ({}, {"slot_id": "x"}, {"slot_id": 2**70}):
        response = patient_client.post("/api/v1/appointments", body, format="json")
        assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "slot_id"


def test_hospital_id_not_the_slots_is_400(patient_client, slot, other_hospital):
    response = book(patient_client, slot, hospital_id=other_hospital.pk)
    assert_error(response, 400, code="hospital_mismatch", attr="hospital_id")
    slot.refresh_from_db()
    assert slot.booked == 0 and not Appointment.objects.exists()


def test_matching_hospital_id_is_accepted(patient_client, slot, hospital):
    assert book(patient_client, slot, hospital_id=hospital.pk).status_code == 201


def test_slot_in_the_past_is_400(patient_client, doctor):
    past = _started_slot(doctor)
    response = book(patient_client, past)
    assert_error(response, 400, code="slot_started", attr="slot_id")
    past.refresh_from_db()
    assert past.booked == 0 and not Appointment.objects.exists()


def test_full_slot_is_409(patient_client, doctor):
    full = SlotFactory(doctor=doctor, capacity=1)
    AppointmentFactory(slot=full)
    assert_error(book(patient_client, full), 409, code="slot_full")
    full.refresh_from_db()
    assert full.booked == 1 and Appointment.objects.count() == 1


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_closed_or_cancelled_slot_is_409(patient_client, doctor, status):
    closed = SlotFactory(doctor=doctor, status=status)
    assert_error(book(patient_client, closed), 409, code="slot_closed")
    closed.refresh_from_db()
    assert closed.booked == 0 and not Appointment.objects.exists()


def test_hospital_opd_closed_is_409(patient_client, doctor, hospital, slot):
    hospital.opd_status = "closed"
    hospital.save()
    assert_error(book(patient_client, slot), 409, code="opd_closed")
    slot.refresh_from_db()
    assert slot.booked == 0 and not Appointment.objects.exists()


def test_doctor_not_available_is_409(patient_client, doctor, slot):
    doctor.is_available = False
    doctor.save()
    assert_error(book(patient_client, slot), 409, code="doctor_unavailable")
    slot.refresh_from_db()
    assert slot.booked == 0 and not Appointment.objects.exists()


def test_second_active_booking_in_same_slot_is_409(patient_client, slot):
    assert book(patient_client, slot).status_code == 201
    assert_error(book(patient_client, slot), 409, code="already_booked")
    slot.refresh_from_db()
    assert slot.booked == 1 and Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "held,expected", [("booked", 409), ("checked_in", 409), ("completed", 201), ("no_show", 201), ("cancelled", 201)]
)
def test_only_an_active_appointment_blocks_booking_the_slot_again(patient_client, patient, slot, held, expected):
    AppointmentFactory(slot=slot, patient=patient, status=held)
    response = book(patient_client, slot)
    assert response.status_code == expected, response.content
    if expected == 409:
        body = assert_error(response, 409, code="already_booked")
        assert body["errors"][0]["detail"] == "This patient already holds a booking in this slot."
        assert Appointment.objects.count() == 1


def test_cancel_then_book_again_frees_the_seat_and_never_reuses_token(patient_client, patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=1)
    first = book(patient_client, slot).json()
    assert_error(book(client_for(UserFactory()), slot), 409, code="slot_full")
    assert patient_client.post(f"/api/v1/appointments/{first['id']}/cancel", {"reason": "Better"}).status_code == 200
    slot.refresh_from_db()
    assert slot.booked == 0
    again = book(patient_client, slot)
    assert again.status_code == 201 and again.json()["token_number"] == 2
    slot.refresh_from_db()
    assert slot.booked == 1 and slot.last_token == 2


def test_patient_cannot_book_for_someone_else(patient_client, other_patient, slot):
    response = book(patient_client, slot, patient_id=other_patient.pk)
    assert_error(response, 403, code="permission_denied")
    slot.refresh_from_db()
    assert slot.booked == 0 and not Appointment.objects.exists()


def test_driver_never_books(driver_client, slot, patient):
    assert book(driver_client, slot).status_code == 403
    assert book(driver_client, slot, patient_id=patient.pk).status_code == 403
    assert not Appointment.objects.exists()


def test_anonymous_cannot_book(api, slot):
    assert book(api, slot).status_code == 401


@pytest.mark.parametrize("staff", ["admin_user", "hospital_admin", "doctor_user"])
def test_staff_book_for_a_patient(request, staff, slot, patient, doctor):
    by = request.getfixturevalue(staff)
    response = book(client_for(by), slot, patient_id=patient.pk)
    assert response.status_code == 201, response.content
    assert response.json()["patient_id"] == patient.pk
    assert Appointment.objects.get().booked_by_id == by.pk
    entry = Activity.objects.get(action="create", object_type="appointment")
    assert (entry.actor_id, entry.actor_role, entry.patient_id) == (by.pk, by.role, patient.pk)
    assert client_for(by).get(f"/api/v1/appointments/{response.json()['id']}").json() == response.json()


def test_staff_must_name_the_patient(hospital_admin_client, slot):
    response = book(hospital_admin_client, slot)
    assert_error(response, 400, code="required", attr="patient_id")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("patient_id", [999999, "staff"])
def test_staff_booking_unknown_or_non_patient_is_400(hospital_admin_client, slot, hospital_admin, patient_id):
    patient_id = hospital_admin.pk if patient_id == "staff" else patient_id
    response = book(hospital_admin_client, slot, patient_id=patient_id)
    assert_error(response, 400, code="does_not_exist", attr="patient_id")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client"])
def test_staff_cannot_book_into_another_hospitals_slot(request, client_name, other_doctor, patient, doctor):
    other_slot = SlotFactory(doctor=other_doctor)
    response = book(request.getfixturevalue(client_name), other_slot, patient_id=patient.pk)
    assert_error(response, 403, code="permission_denied")
    other_slot.refresh_from_db()
    assert other_slot.booked == 0 and not Appointment.objects.exists()


def test_booking_is_throttled_per_user(settings, patient_client, doctor):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "booking": "2/min"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        slots = SlotFactory.create_batch(3, doctor=doctor)
        assert [book(patient_client, s).status_code for s in slots] == [201, 201, 429]
        # Another user has its own budget.
        assert book(client_for(UserFactory()), slots[2]).status_code == 201
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original


def test_reason_too_long_is_400(patient_client, slot):
    response = book(patient_client, slot, reason="x" * 501)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "reason"


def test_inactive_hospital_slot_is_404_for_booking(patient_client, slot, hospital):
    hospital.is_active = False
    hospital.save()
    assert_error(book(patient_client, slot), 404, code="not_found")
    slot.refresh_from_db()
    assert slot.booked == 0 and not Appointment.objects.exists()
