from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory, UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Appointment, Slot
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db


def book(client, slot, **extra):
    return client.post("/api/v1/appointments", {"slot_id": slot.pk, **extra}, format="json")


def _started_slot(doctor, minutes_ago=30):
    start = timezone.now() - timedelta(minutes=minutes_ago)
    return SlotFactory(doctor=doctor, start=start, end=start + timedelta(hours=1))


# --- visibility --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client_name,visible",
    [
        ("patient_client", True),
        ("doctor_client", True),
        ("hospital_admin_client", True),
        ("admin_client", True),
        ("other_patient_client", False),
        ("driver_client", False),
        ("donor_client", False),
    ],
)
def test_appointment_visibility(request, client_name, visible, appointment):
    client = request.getfixturevalue(client_name)
    response = client.get(f"/api/v1/appointments/{appointment.pk}")
    assert response.status_code == (200 if visible else 404)
    listed = [a["id"] for a in client.get("/api/v1/appointments").json()["results"]]
    assert listed == ([appointment.pk] if visible else [])
    action = "read" if visible else "read_denied"
    assert Activity.objects.filter(
        action=action, object_type="appointment", object_id=str(appointment.pk), patient_id=appointment.patient_id
    ).exists()


def test_other_doctor_of_same_hospital_does_not_see_it(appointment, hospital):
    colleague = DoctorFactory(hospital=hospital)
    assert client_for(colleague.user).get(f"/api/v1/appointments/{appointment.pk}").status_code == 404


def test_other_hospitals_admin_does_not_see_it(appointment, other_hospital):
    admin = UserFactory(role="hospital_admin", hospital=other_hospital)
    assert client_for(admin).get(f"/api/v1/appointments/{appointment.pk}").status_code == 404


def test_anonymous_list_is_401(api):
    assert api.get("/api/v1/appointments").status_code == 401


def test_appointment_filters(admin_client, doctor, patient):
    # Both slots on one hospital-local day (the factory's sequence of starts can cross midnight).
    zone = ZoneInfo(doctor.hospital.timezone)
    morning = datetime.combine(timezone.localdate(timezone=zone) + timedelta(days=2), time(10), zone)
    booked = AppointmentFactory(slot=SlotFactory(doctor=doctor, start=morning), patient=patient)
    cancelled = AppointmentFactory(
        slot=SlotFactory(doctor=doctor, start=morning + timedelta(minutes=30)), status="cancelled"
    )

    def ids(query):
        return [a["id"] for a in admin_client.get(f"/api/v1/appointments?{query}").json()["results"]]

    assert ids("status=cancelled") == [cancelled.pk]
    assert ids(f"patient_id={patient.pk}") == [booked.pk]
    assert ids(f"slot_id={booked.slot_id}") == [booked.pk]
    assert ids(f"date={booked.slot.local_date}&doctor_id={doctor.pk}&ordering=start") == [booked.pk, cancelled.pk]
    assert admin_client.get("/api/v1/appointments?status=nope").status_code == 400


def test_my_appointments_lists_only_the_callers(patient_client, patient, other_patient, doctor):
    mine = AppointmentFactory(slot=SlotFactory(doctor=doctor), patient=patient)
    AppointmentFactory(slot=SlotFactory(doctor=doctor), patient=other_patient)
    response = patient_client.get("/appointment/my-appointments")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [mine.pk]


def test_my_appointments_of_a_doctor_are_its_own_not_its_queue(doctor_client, appointment):
    assert doctor_client.get("/appointment/my-appointments/").json()["count"] == 0


# --- cancel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["patient_client", "hospital_admin_client", "admin_client"])
def test_cancel_releases_the_seat(request, client_name, appointment):
    client = request.getfixturevalue(client_name)
    response = client.post(f"/api/v1/appointments/{appointment.pk}/cancel", {"reason": "Travel"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled" and response.json()["cancel_reason"] == "Travel"
    appointment.slot.refresh_from_db()
    assert appointment.slot.booked == 0 and appointment.slot.last_token == 1
    assert Activity.objects.filter(action="action", object_type="appointment", detail__action="cancel").exists()


def test_doctor_cannot_cancel(doctor_client, appointment):
    assert_error(doctor_client.post(f"/api/v1/appointments/{appointment.pk}/cancel"), 403, code="permission_denied")
    appointment.refresh_from_db()
    assert appointment.status == "booked" and Slot.objects.get(pk=appointment.slot_id).booked == 1


def test_other_patient_cancel_is_404(other_patient_client, appointment):
    assert other_patient_client.post(f"/api/v1/appointments/{appointment.pk}/cancel").status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked" and Slot.objects.get(pk=appointment.slot_id).booked == 1


def test_cancel_twice_is_409(patient_client, appointment):
    assert patient_client.post(f"/api/v1/appointments/{appointment.pk}/cancel").status_code == 200
    again = patient_client.post(f"/api/v1/appointments/{appointment.pk}/cancel", {"reason": "again"})
    assert_error(again, 409, code="illegal_transition")
    appointment.slot.refresh_from_db()
    assert appointment.slot.booked == 0
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.cancel_reason != "again"


def test_cancel_after_start_is_409(patient_client, patient, doctor):
    started = AppointmentFactory(slot=_started_slot(doctor), patient=patient)
    assert_error(patient_client.post(f"/api/v1/appointments/{started.pk}/cancel"), 409, code="slot_started")
    started.refresh_from_db()
    assert started.status == "booked" and Slot.objects.get(pk=started.slot_id).booked == 1


# --- transitions -------------------------------------------------------------------------------


def test_doctor_checks_in_then_completes(doctor_client, appointment):
    response = doctor_client.post(f"/api/v1/appointments/{appointment.pk}/check-in")
    assert response.status_code == 200 and response.json()["status"] == "checked_in"
    response = doctor_client.post(f"/api/v1/appointments/{appointment.pk}/complete/")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    appointment.slot.refresh_from_db()
    assert appointment.slot.booked == 1


def test_complete_without_check_in_is_409(hospital_admin_client, appointment):
    response = hospital_admin_client.post(f"/api/v1/appointments/{appointment.pk}/complete")
    assert_error(response, 409, code="illegal_transition")
    appointment.refresh_from_db()
    assert appointment.status == "booked"


@pytest.mark.parametrize("status", ["completed", "cancelled", "no_show"])
def test_check_in_from_final_states_is_409(admin_client, slot, status):
    appointment = AppointmentFactory(slot=slot, status=status)
    response = admin_client.post(f"/api/v1/appointments/{appointment.pk}/check-in")
    assert_error(response, 409, code="illegal_transition")
    appointment.refresh_from_db()
    assert appointment.status == status


def test_cancel_a_checked_in_appointment_is_409(patient_client, appointment):
    Appointment.objects.filter(pk=appointment.pk).update(status="checked_in")
    response = patient_client.post(f"/api/v1/appointments/{appointment.pk}/cancel")
    assert_error(response, 409, code="illegal_transition")
    appointment.refresh_from_db()
    assert appointment.status == "checked_in" and Slot.objects.get(pk=appointment.slot_id).booked == 1


def test_no_show_only_after_the_slot_starts(doctor_client, doctor, appointment):
    response = doctor_client.post(f"/api/v1/appointments/{appointment.pk}/no-show")
    assert_error(response, 409, code="slot_not_started")
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    started = AppointmentFactory(slot=_started_slot(doctor))
    response = doctor_client.post(f"/api/v1/appointments/{started.pk}/no-show")
    assert response.status_code == 200 and response.json()["status"] == "no_show"


def test_no_show_from_checked_in_allowed(admin_client, doctor):
    started = AppointmentFactory(slot=_started_slot(doctor), status="checked_in")
    assert admin_client.post(f"/api/v1/appointments/{started.pk}/no-show").status_code == 200


@pytest.mark.parametrize("action", ["check-in", "complete", "no-show"])
def test_patient_cannot_move_status(patient_client, appointment, action):
    response = patient_client.post(f"/api/v1/appointments/{appointment.pk}/{action}")
    assert_error(response, 403, code="permission_denied")
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_delete_and_put_are_405(admin_client, appointment):
    assert admin_client.delete(f"/api/v1/appointments/{appointment.pk}").status_code == 405
    assert admin_client.put(f"/api/v1/appointments/{appointment.pk}", {"reason": "x"}).status_code == 405
    assert Appointment.objects.filter(pk=appointment.pk).exists()


# --- PATCH: reason and reschedule --------------------------------------------------------------


def test_patient_changes_reason(patient_client, appointment):
    response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"reason": "Cough"}, format="json")
    assert response.status_code == 200 and response.json()["reason"] == "Cough"


def test_status_is_not_writable_through_patch(patient_client, appointment):
    response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"status": "completed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "booked"


def test_reschedule_moves_the_seat_in_one_step(patient_client, appointment, doctor):
    target = SlotFactory(doctor=doctor, capacity=2)
    AppointmentFactory(slot=target)
    response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": target.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["slot_id"] == target.pk and response.json()["token_number"] == 2
    old, new = Slot.objects.get(pk=appointment.slot_id), Slot.objects.get(pk=target.pk)
    assert old.booked == 0 and new.booked == 2


def test_reschedule_to_another_hospital_moves_doctor_and_hospital(patient_client, appointment, other_doctor):
    target = SlotFactory(doctor=other_doctor)
    body = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": target.pk}).json()
    assert body["doctor_id"] == other_doctor.pk and body["hospital_id"] == other_doctor.hospital_id


def test_reschedule_into_full_slot_is_409_and_changes_nothing(patient_client, appointment, doctor):
    full = SlotFactory(doctor=doctor, capacity=1)
    AppointmentFactory(slot=full)
    response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": full.pk}, format="json")
    assert_error(response, 409, code="slot_full")
    appointment.refresh_from_db()
    assert appointment.slot_id != full.pk
    assert Slot.objects.get(pk=appointment.slot_id).booked == 1 and Slot.objects.get(pk=full.pk).booked == 1


def test_reschedule_to_unknown_slot_is_404_and_past_slot_is_400(patient_client, appointment, doctor):
    response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": 999999}, format="json")
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    past = _started_slot(doctor)
    response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": past.pk}, format="json")
    assert_error(response, 400, code="slot_started", attr="slot_id")
    appointment.refresh_from_db()
    assert appointment.slot_id != past.pk and Slot.objects.get(pk=past.pk).booked == 0


def test_reschedule_cancelled_appointment_is_409(patient_client, slot, patient, doctor):
    cancelled = AppointmentFactory(slot=slot, patient=patient, status="cancelled")
    target = SlotFactory(doctor=doctor)
    response = patient_client.patch(f"/api/v1/appointments/{cancelled.pk}", {"slot_id": target.pk})
    assert_error(response, 409, code="appointment_not_booked")
    cancelled.refresh_from_db()
    assert cancelled.slot_id == slot.pk and Slot.objects.get(pk=target.pk).booked == 0


def test_hospital_admin_cannot_move_appointment_to_other_hospital(hospital_admin_client, appointment, other_doctor):
    target = SlotFactory(doctor=other_doctor)
    response = hospital_admin_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": target.pk})
    assert_error(response, 403, code="permission_denied")
    appointment.refresh_from_db()
    assert appointment.slot_id != target.pk and Slot.objects.get(pk=target.pk).booked == 0


@pytest.mark.parametrize("status", ["completed", "cancelled", "no_show"])
def test_a_closed_appointments_reason_cannot_change_409(patient_client, slot, patient, status):
    closed = AppointmentFactory(slot=slot, patient=patient, status=status, reason="before")
    response = patient_client.patch(f"/api/v1/appointments/{closed.pk}", {"reason": "after"}, format="json")
    assert_error(response, 409, code="appointment_closed")
    closed.refresh_from_db()
    assert closed.reason == "before" and closed.status == status


def test_doctor_cannot_patch(doctor_client, appointment):
    response = doctor_client.patch(f"/api/v1/appointments/{appointment.pk}", {"reason": "x"})
    assert_error(response, 403, code="permission_denied")
    appointment.refresh_from_db()
    assert appointment.reason != "x"


# --- seed aliases ------------------------------------------------------------------------------


def test_seed_book_detail_update_cancel(patient_client, slot, doctor):
    created = patient_client.post("/appointment/opd/book", {"slot_id": slot.pk}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    detail = patient_client.get(f"/appointment/opd/{pk}")
    assert detail.status_code == 200 and detail.json() == created.json()
    target = SlotFactory(doctor=doctor)
    updated = patient_client.put(f"/appointment/opd/update/{pk}", {"slot_id": target.pk}, format="json")
    assert updated.status_code == 200 and updated.json()["slot_id"] == target.pk
    cancelled = patient_client.delete(f"/appointment/opd/cancel/{pk}/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    target.refresh_from_db()
    assert target.booked == 0


def test_seed_detail_hides_other_patients_record(other_patient_client, appointment):
    assert other_patient_client.get(f"/appointment/opd/{appointment.pk}").status_code == 404
    assert other_patient_client.delete(f"/appointment/opd/cancel/{appointment.pk}").status_code == 404


def test_a_booking_on_postgresql_is_one_statement(patient_client, slot):
    """The token's user (the read cache is off in tests), then the booking itself: one statement.
    (Not counted: the throttle's counter on the cache, here the database cache, and the savepoints of
    the test's own transaction.)"""
    with CaptureQueriesContext(connection) as captured:
        response = patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
    assert response.status_code == 201
    queries = [q["sql"] for q in captured.captured_queries if not ("hms_cache" in q["sql"] or "SAVEPOINT" in q["sql"])]
    assert len(queries) == 2 and queries[1].lstrip().startswith("WITH target AS"), queries


def test_appointment_list_query_budget(admin_client, django_assert_max_num_queries, hospital):
    for _ in range(5):
        doctor = DoctorFactory(hospital=hospital)
        for slot in SlotFactory.create_batch(2, doctor=doctor):
            AppointmentFactory.create_batch(3, slot=slot)
    with django_assert_max_num_queries(4):
        response = admin_client.get("/api/v1/appointments?page_size=30")
    assert len(response.json()["results"]) == 30


def test_patient_list_query_budget(patient_client, patient, django_assert_max_num_queries):
    hospital = HospitalFactory()
    for _ in range(12):
        AppointmentFactory(slot=SlotFactory(doctor=DoctorFactory(hospital=hospital)), patient=patient)
    with django_assert_max_num_queries(4):
        response = patient_client.get("/appointment/my-appointments?page_size=12")
    assert len(response.json()["results"]) == 12
