"""The waitlist (API.md section 17) through the HTTP API: joining (one active entry per patient, doctor
and date), FIFO and windows, an offer on each path that frees a seat (cancel, reschedule away, capacity
raised, slot reopened, hold released), booking from an offer, declining and expiry passing it on (the
job, and the status shown at read time), leaving, roles and visibility, list query bounds."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Appointment, Hold, Slot
from appointments.services.bookings import appointment_transition
from appointments.services.waitlist import expire_offers
from appointments.tests.factories import AppointmentFactory, DoctorFactory, HoldFactory, SlotFactory
from appointments.waitlist_models import WaitlistEntry
from conftest import client_for
from feed.models import PendingEvent
from hms import jobs

pytestmark = pytest.mark.django_db

Status = WaitlistEntry.Status


def join(client, slot_or_doctor, date=None, **body):
    doctor_id = getattr(slot_or_doctor, "doctor_id", None) or slot_or_doctor.pk
    date = date or slot_or_doctor.local_date
    return client.post("/api/v1/waitlist", {"doctor_id": doctor_id, "date": str(date), **body}, format="json")


def joined(patient, slot, date=None, **body) -> dict:
    response = join(client_for(patient), slot, date, **body)
    assert response.status_code == 201, response.content
    return response.json()


def full_slot(doctor, capacity=1, **fields) -> Slot:
    slot = SlotFactory(doctor=doctor, capacity=capacity, **fields)
    for _ in range(capacity):
        AppointmentFactory(slot=slot)
    slot.refresh_from_db()
    return slot


def entry(entry_id) -> WaitlistEntry:
    return WaitlistEntry.objects.select_related("hold").get(pk=entry_id)


def local_time(slot) -> time:
    return slot.start.astimezone(slot.zone).time()


def assert_seats_consistent(slot) -> None:
    slot.refresh_from_db()
    active = Hold.objects.filter(slot=slot, status=Hold.Status.ACTIVE).count()
    booked = Appointment.objects.filter(slot=slot).exclude(status=Appointment.Status.CANCELLED).count()
    assert (slot.hold_count, slot.booked) == (active, booked)
    assert slot.booked + slot.hold_count <= slot.capacity


# --- joining ------------------------------------------------------------------------------------


def test_patient_joins_the_waitlist_with_201_and_the_contract_shape(patient, doctor):
    slot = full_slot(doctor)
    body = joined(patient, slot, from_time="08:00", to_time="20:00")
    assert set(body) >= {"id", "doctor_id", "date", "from_time", "to_time", "status", "position", "offer"}
    assert (body["doctor_id"], body["date"], body["status"], body["position"], body["offer"]) == (
        doctor.pk,
        str(slot.local_date),
        "waiting",
        1,
        None,
    )
    assert (body["from_time"], body["to_time"], body["patient_id"]) == ("08:00:00", "20:00:00", patient.pk)
    assert client_for(patient).get(f"/api/v1/waitlist/{body['id']}").json() == body


def test_one_active_entry_per_patient_doctor_and_date_is_409_already_waiting(patient, doctor):
    slot = full_slot(doctor)
    first = joined(patient, slot)
    assert_error(join(client_for(patient), slot), 409, code="already_waiting")
    assert WaitlistEntry.objects.filter(patient=patient).count() == 1
    # Another date is another line; after leaving, the patient may join again.
    assert join(client_for(patient), doctor, slot.local_date + timedelta(days=1)).status_code == 201
    assert client_for(patient).delete(f"/api/v1/waitlist/{first['id']}").status_code == 204
    assert join(client_for(patient), slot).status_code == 201


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"date": "2000-01-01"}, "date"),
        ({"from_time": "12:00", "to_time": "11:00"}, "to_time"),
        ({"doctor_id": 999999}, "doctor_id"),
        ({"date": "nonsense"}, "date"),
    ],
)
def test_invalid_waitlist_input_is_400_naming_the_field(patient_client, doctor, body, attr):
    slot = full_slot(doctor)
    payload = {"doctor_id": doctor.pk, "date": str(slot.local_date), **body}
    assert_error(patient_client.post("/api/v1/waitlist", payload, format="json"), 400, attr=attr)
    assert not WaitlistEntry.objects.exists()


def test_positions_are_fifo(doctor):
    slot = full_slot(doctor)
    patients = UserFactory.create_batch(3)
    bodies = [joined(patient, slot) for patient in patients]
    assert [body["position"] for body in bodies] == [1, 2, 3]
    client_for(patients[0]).delete(f"/api/v1/waitlist/{bodies[0]['id']}")
    assert client_for(patients[2]).get(f"/api/v1/waitlist/{bodies[2]['id']}").json()["position"] == 2


# --- offers -------------------------------------------------------------------------------------


def test_a_cancel_offers_the_seat_to_the_earliest_waiting_entry_in_the_same_transaction(settings, doctor, patient):
    settings.WAITLIST_OFFER_MINUTES = 15
    slot = full_slot(doctor)
    booked = Appointment.objects.get(slot=slot)
    first, second = joined(patient, slot), joined(UserFactory(), slot)
    before = timezone.now()
    response = client_for(booked.patient).post(f"/api/v1/appointments/{booked.pk}/cancel", {}, format="json")
    assert response.status_code == 200, response.content
    offered = entry(first["id"])
    assert offered.status == Status.OFFERED
    hold = offered.hold
    assert (hold.slot_id, hold.patient_id, hold.status) == (slot.pk, patient.pk, Hold.Status.ACTIVE)
    assert before + timedelta(minutes=15) <= hold.expires_at <= timezone.now() + timedelta(minutes=15)
    body = client_for(patient).get(f"/api/v1/waitlist/{first['id']}").json()
    assert body["status"] == "offered" and body["position"] is None
    assert body["offer"]["hold_id"] == hold.pk and body["offer"]["slot_id"] == slot.pk
    assert entry(second["id"]).status == Status.WAITING
    assert client_for(UserFactory()).get(f"/api/v1/slots/{slot.pk}").json()["available"] == 0
    event = PendingEvent.objects.filter(topic=f"user.{patient.pk}", type="waitlist.offered").get()
    assert {"doctor_id", "doctor", "date", "start", "hold_id", "expires_at", "slot_id"} <= set(event.data)
    assert (event.data["hold_id"], event.data["doctor"]) == (hold.pk, doctor.user.fullname)
    assert_seats_consistent(slot)


@time_machine.travel(datetime(2027, 6, 7, 5, 0, tzinfo=UTC), tick=False)
def test_only_entries_whose_window_holds_the_slot_start_get_the_offer(doctor, patient):
    # A fixed clock and a slot at 10:00 local two days ahead: a window after its start always exists.
    zone = Slot(hospital=doctor.hospital).zone
    slot_start = datetime.combine(timezone.now().astimezone(zone).date() + timedelta(days=2), time(10), tzinfo=zone)
    slot = full_slot(doctor, start=slot_start, end=slot_start + timedelta(minutes=15))
    start = local_time(slot)
    later_window = time(10, 1)
    outside = joined(UserFactory(), slot, from_time=later_window.isoformat())
    ends_at_start = joined(UserFactory(), slot, to_time=start.isoformat())
    inside = joined(patient, slot, from_time=start.isoformat())
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    assert [entry(e["id"]).status for e in (outside, ends_at_start, inside)] == ["waiting", "waiting", "offered"]


def test_other_doctors_and_dates_are_other_lines(doctor, patient):
    slot = full_slot(doctor)
    joined(UserFactory(), DoctorFactory(hospital=doctor.hospital), slot.local_date)
    joined(UserFactory(), doctor, slot.local_date + timedelta(days=1))
    mine = joined(patient, slot)
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    assert WaitlistEntry.objects.filter(status=Status.OFFERED).get().pk == mine["id"]


def test_a_patient_already_booked_in_the_slot_is_passed_over(doctor, patient):
    slot = full_slot(doctor, capacity=2)
    mine, theirs = Appointment.objects.filter(slot=slot).order_by("pk")
    first = joined(mine.patient, slot)
    second = joined(patient, slot)
    client_for(theirs.patient).post(f"/api/v1/appointments/{theirs.pk}/cancel", {}, format="json")
    assert (entry(first["id"]).status, entry(second["id"]).status) == ("waiting", "offered")


def test_raising_capacity_offers_each_new_seat(hospital_admin_client, doctor):
    slot = full_slot(doctor)
    bodies = [joined(UserFactory(), slot) for _ in range(3)]
    response = hospital_admin_client.patch(f"/api/v1/slots/{slot.pk}", {"capacity": 3}, format="json")
    assert response.status_code == 200, response.content
    assert [entry(body["id"]).status for body in bodies] == ["offered", "offered", "waiting"]
    assert response.json()["available"] == 0
    assert_seats_consistent(slot)


def test_reopening_a_closed_slot_offers_its_free_seats(hospital_admin_client, doctor, patient):
    slot = SlotFactory(doctor=doctor, capacity=1, status=Slot.Status.CLOSED)
    body = joined(patient, slot)
    hospital_admin_client.patch(f"/api/v1/slots/{slot.pk}", {"status": "open"}, format="json")
    assert entry(body["id"]).status == Status.OFFERED


def test_releasing_a_plain_hold_offers_its_seat(doctor, patient):
    slot = SlotFactory(doctor=doctor, capacity=1)
    hold = HoldFactory(slot=slot)
    body = joined(patient, slot)
    assert client_for(hold.patient).delete(f"/api/v1/holds/{hold.pk}").status_code == 204
    assert entry(body["id"]).status == Status.OFFERED
    assert_seats_consistent(slot)


def test_rescheduling_away_offers_the_seat_left(doctor, patient):
    slot = full_slot(doctor)
    other = SlotFactory(doctor=doctor, capacity=1)
    appointment = Appointment.objects.get(slot=slot)
    body = joined(patient, slot)
    response = client_for(appointment.patient).patch(
        f"/api/v1/appointments/{appointment.pk}", {"slot_id": other.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert entry(body["id"]).hold.slot_id == slot.pk


def test_booking_with_the_offer_books_the_entry(doctor, patient):
    slot = full_slot(doctor)
    body = joined(patient, slot)
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    hold_id = entry(body["id"]).hold_id
    response = client_for(patient).post("/api/v1/appointments", {"hold_id": hold_id}, format="json")
    assert response.status_code == 201, response.content
    shown = client_for(patient).get(f"/api/v1/waitlist/{body['id']}").json()
    assert (shown["status"], shown["offer"]) == ("booked", None)
    assert PendingEvent.objects.filter(topic=f"user.{patient.pk}", type="waitlist.booked").exists()
    assert_seats_consistent(slot)


def test_declining_the_offer_passes_it_to_the_next_entry(doctor, patient):
    slot = full_slot(doctor)
    first, second = joined(patient, slot), joined(UserFactory(), slot)
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    hold_id = entry(first["id"]).hold_id
    assert client_for(patient).delete(f"/api/v1/holds/{hold_id}").status_code == 204
    assert entry(first["id"]).status == Status.LEFT
    assert entry(second["id"]).status == Status.OFFERED
    assert_seats_consistent(slot)


def test_leaving_with_an_offer_declines_it_and_passes_it_on(doctor, patient):
    slot = full_slot(doctor)
    first, second = joined(patient, slot), joined(UserFactory(), slot)
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    hold = entry(first["id"]).hold
    assert client_for(patient).delete(f"/api/v1/waitlist/{first['id']}").status_code == 204
    hold.refresh_from_db()
    assert (entry(first["id"]).status, hold.status) == (Status.LEFT, Hold.Status.RELEASED)
    assert entry(second["id"]).status == Status.OFFERED
    assert_error(client_for(patient).delete(f"/api/v1/waitlist/{first['id']}"), 409, code="waitlist_closed")
    assert_seats_consistent(slot)


def test_an_offer_lapses_at_read_time_and_the_job_passes_it_on_once(settings, doctor, patient):
    settings.WAITLIST_OFFER_MINUTES = 15
    slot = full_slot(doctor)
    first, second = joined(patient, slot), joined(UserFactory(), slot)
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        shown = client_for(patient).get(f"/api/v1/waitlist/{first['id']}").json()
        assert (shown["status"], shown["offer"]) == ("expired", None)
        listed = client_for(patient).get("/api/v1/waitlist?status=expired").json()
        assert [row["id"] for row in listed["results"]] == [first["id"]]
        hold_id = entry(first["id"]).hold_id
        assert_error(
            client_for(patient).post("/api/v1/appointments", {"hold_id": hold_id}, format="json"),
            409,
            code="hold_expired",
        )
        assert jobs.get("appointments.waitlist_offers").func is expire_offers
        assert expire_offers() == {"expired": 1, "offered": 1}
        assert expire_offers() == {"expired": 0, "offered": 0}
    assert entry(first["id"]).status == Status.EXPIRED
    assert entry(second["id"]).status == Status.OFFERED
    assert_seats_consistent(slot)


def test_the_job_offers_seats_freed_by_plain_holds_that_lapsed(doctor, patient):
    slot = SlotFactory(doctor=doctor, capacity=1)
    HoldFactory(slot=slot, expires_at=timezone.now() + timedelta(minutes=1))
    body = joined(patient, slot)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert expire_offers() == {"expired": 0, "offered": 1}
    assert entry(body["id"]).status == Status.OFFERED
    assert_seats_consistent(slot)


def test_a_no_show_frees_no_seat_to_offer(doctor_user, doctor, patient):
    slot = full_slot(doctor)
    body = joined(patient, slot)
    appointment = Appointment.objects.get(slot=slot)
    with time_machine.travel(slot.start + timedelta(minutes=1)):  # a token would have expired: the service
        appointment_transition(by=doctor_user, appointment=appointment, status=Appointment.Status.NO_SHOW)
    assert entry(body["id"]).status == Status.WAITING


# --- roles and visibility -----------------------------------------------------------------------


def test_staff_of_the_doctors_hospital_put_a_patient_in_line(hospital_admin_client, doctor_client, doctor, patient):
    slot = full_slot(doctor)
    response = join(hospital_admin_client, slot, patient_id=patient.pk)
    assert response.status_code == 201, response.content
    assert response.json()["patient_id"] == patient.pk
    other = UserFactory()
    assert join(doctor_client, slot, patient_id=other.pk).status_code == 201
    assert_error(join(hospital_admin_client, slot), 400, attr="patient_id")


def test_waitlist_role_matrix_for_joining(
    client, other_hospital_admin_client, driver_client, patient_client, admin_client, doctor, patient, other_patient
):
    slot = full_slot(doctor)
    assert_error(join(client, slot), 401)
    assert_error(join(driver_client, slot, patient_id=patient.pk), 403)
    assert_error(join(other_hospital_admin_client, slot, patient_id=patient.pk), 403)
    assert_error(join(patient_client, slot, patient_id=other_patient.pk), 403)
    assert not WaitlistEntry.objects.exists()
    assert join(admin_client, slot, patient_id=other_patient.pk).status_code == 201


def test_waitlist_visibility(
    admin_client, hospital_admin_client, other_hospital_admin_client, doctor_client, doctor, patient, other_patient
):
    slot = full_slot(doctor)
    mine = joined(patient, slot)
    other_doctor = DoctorFactory()
    elsewhere = joined(other_patient, other_doctor, slot.local_date)

    def ids(client):
        return {row["id"] for row in client.get("/api/v1/waitlist").json()["results"]}

    assert ids(client_for(patient)) == {mine["id"]}
    assert ids(hospital_admin_client) == {mine["id"]}
    assert ids(doctor_client) == {mine["id"]}
    assert ids(other_hospital_admin_client) == set()
    assert ids(admin_client) == {mine["id"], elsewhere["id"]}
    assert_error(client_for(other_patient).get(f"/api/v1/waitlist/{mine['id']}"), 404)
    assert_error(client_for(other_patient).delete(f"/api/v1/waitlist/{mine['id']}"), 404)
    assert entry(mine["id"]).status == Status.WAITING
    # Staff of the hospital may take a patient out of the line.
    assert hospital_admin_client.delete(f"/api/v1/waitlist/{mine['id']}").status_code == 204


def test_waitlist_list_runs_in_bounded_queries(django_assert_max_num_queries, admin_client, doctor):
    slot = full_slot(doctor)
    for _ in range(8):
        joined(UserFactory(), slot, from_time="00:00")
    appointment = Appointment.objects.get(slot=slot)
    client_for(appointment.patient).post(f"/api/v1/appointments/{appointment.pk}/cancel", {}, format="json")
    with django_assert_max_num_queries(8):
        body = admin_client.get("/api/v1/waitlist?page_size=100").json()
    assert body["count"] == 8
    assert sorted(row["position"] or 0 for row in body["results"]) == [0, 1, 2, 3, 4, 5, 6, 7]


# --- demo and admin -----------------------------------------------------------------------------


def test_seed_makes_a_waitlist_once_and_the_admin_lists_it_read_only(admin_site):
    from io import StringIO

    from accounts.tests.factories import HospitalFactory
    from appointments.demo import seed_appointments
    from appointments.waitlist_models import DoctorLeave

    hospitals = [HospitalFactory(), HospitalFactory()]
    out = StringIO()
    seed_appointments(hospitals=hospitals, stdout=out)
    assert "waitlist: 2 new entries" in out.getvalue()
    assert WaitlistEntry.objects.filter(status=Status.WAITING).count() == 2
    seed_appointments(hospitals=hospitals, stdout=StringIO())
    assert WaitlistEntry.objects.count() == 2
    first = WaitlistEntry.objects.first()
    leave = DoctorLeave.objects.create(
        doctor=first.doctor,
        hospital=first.hospital,
        start=timezone.now() + timedelta(days=40),
        end=timezone.now() + timedelta(days=41),
    )
    for path in ("waitlistentry", "doctorleave"):
        assert admin_site.get(f"/admin/appointments/{path}/").status_code == 200, path
        assert admin_site.get(f"/admin/appointments/{path}/add/").status_code == 403, path
    assert admin_site.get(f"/admin/appointments/waitlistentry/{first.pk}/change/").status_code == 200
    assert admin_site.get(f"/admin/appointments/doctorleave/{leave.pk}/change/").status_code == 200
    assert admin_site.post(f"/admin/appointments/doctorleave/{leave.pk}/delete/", {"post": "yes"}).status_code == 403
