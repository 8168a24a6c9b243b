"""Slot holds (API.md section 17) through the HTTP API: hold, book from a hold, release, the seat
counts (`held`, `available`, `is_bookable`, `available=true`), lapse by time at read and at write with no
job, visibility, roles, and refused writes leaving the rows as they were. Booking runs on both paths.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Appointment, Hold, Slot
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from conftest import client_for
from feed.models import PendingEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("booking_path")]

Status = Hold.Status


def hold(client, slot, **body):
    return client.post(f"/api/v1/slots/{slot.pk}/hold", body, format="json")


def book(client, **body):
    return client.post("/api/v1/appointments", body, format="json")


def later(minutes: float):
    """Travel `minutes` ahead (the clock keeps ticking from there)."""
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes))


def seats(slot) -> dict:
    """The slot as the API shows it, and its counters as stored."""
    body = client_for(UserFactory()).get(f"/api/v1/slots/{slot.pk}").json()
    slot.refresh_from_db()
    return {
        "booked": body["booked"],
        "held": body["held"],
        "available": body["available"],
        "is_bookable": body["is_bookable"],
        "hold_count": slot.hold_count,
    }


def assert_counters_match_rows(slot) -> None:
    slot.refresh_from_db()
    active = Hold.objects.filter(slot=slot, status=Status.ACTIVE).count()
    booked = Appointment.objects.filter(slot=slot).exclude(status=Appointment.Status.CANCELLED).count()
    assert (slot.hold_count, slot.booked) == (active, booked)
    assert slot.booked + slot.hold_count <= slot.capacity


# --- hold -------------------------------------------------------------------------------------


def test_patient_holds_a_seat_for_hold_minutes(settings, patient_client, patient, slot):
    settings.HOLD_MINUTES = 5
    before = timezone.now()
    response = hold(patient_client, slot)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "slot_id", "patient_id", "status", "expires_at"}
    assert (body["slot_id"], body["patient_id"], body["status"]) == (slot.pk, patient.pk, "active")
    stored = Hold.objects.get(pk=body["id"])
    assert before + timedelta(minutes=5) <= stored.expires_at <= timezone.now() + timedelta(minutes=5)
    assert seats(slot) == {"booked": 0, "held": 1, "available": 4, "is_bookable": True, "hold_count": 1}
    entry = Activity.objects.get(action="create", object_type="hold", object_id=str(body["id"]))
    assert (entry.actor_id, entry.patient_id) == (patient.pk, patient.pk)
    # The answer is the hold as stored; the patient reads it and its list.
    assert patient_client.get(f"/api/v1/holds/{body['id']}").json() == body
    assert [row["id"] for row in patient_client.get("/api/v1/holds").json()["results"]] == [body["id"]]


def test_hold_emits_the_slot_and_the_patients_events(patient_client, patient, slot):
    hold_id = hold(patient_client, slot).json()["id"]
    slot_event = PendingEvent.objects.get(topic=f"hospital.{slot.hospital_id}.slots")
    assert (slot_event.data["held"], slot_event.data["available"], slot_event.data["booked"]) == (1, 4, 0)
    user_event = PendingEvent.objects.get(topic=f"user.{patient.pk}")
    assert user_event.type == "hold.active" and user_event.data["hold_id"] == hold_id


def test_donor_holds_for_itself(donor_client, donor, slot):
    response = hold(donor_client, slot)
    assert response.status_code == 201 and response.json()["patient_id"] == donor.pk


@pytest.mark.parametrize("staff", ["admin_user", "hospital_admin", "doctor_user"])
def test_staff_hold_for_a_patient(request, staff, slot, patient, doctor):
    by = request.getfixturevalue(staff)
    response = hold(client_for(by), slot, patient_id=patient.pk)
    assert response.status_code == 201, response.content
    assert response.json()["patient_id"] == patient.pk and Hold.objects.get().held_by_id == by.pk


def test_staff_must_name_the_patient(hospital_admin_client, slot):
    assert_error(hold(hospital_admin_client, slot), 400, code="required", attr="patient_id")
    assert not Hold.objects.exists() and seats(slot)["hold_count"] == 0


def test_patient_cannot_hold_for_someone_else(patient_client, other_patient, slot):
    assert_error(hold(patient_client, slot, patient_id=other_patient.pk), 403)
    assert not Hold.objects.exists() and seats(slot)["hold_count"] == 0


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client"])
def test_staff_cannot_hold_another_hospitals_slot(request, client_name, other_doctor, patient, doctor):
    other_slot = SlotFactory(doctor=other_doctor)
    assert_error(hold(request.getfixturevalue(client_name), other_slot, patient_id=patient.pk), 403)
    assert not Hold.objects.exists() and seats(other_slot)["hold_count"] == 0


def test_driver_and_anonymous_never_hold(driver_client, api, slot, patient):
    assert_error(hold(driver_client, slot, patient_id=patient.pk), 403)
    assert hold(api, slot).status_code == 401
    assert not Hold.objects.exists()


def test_unknown_slot_is_404(patient_client):
    assert patient_client.post("/api/v1/slots/999999/hold", {}, format="json").status_code == 404
    assert patient_client.post("/api/v1/slots/abc/hold", {}, format="json").status_code == 404


def test_one_active_hold_per_patient_and_slot(patient_client, slot):
    assert hold(patient_client, slot).status_code == 201
    assert_error(hold(patient_client, slot), 409, code="already_held")
    assert Hold.objects.count() == 1 and seats(slot)["hold_count"] == 1


def test_a_patient_with_a_booking_cannot_also_hold(patient_client, patient, slot):
    AppointmentFactory(slot=slot, patient=patient)
    assert_error(hold(patient_client, slot), 409, code="already_booked")
    assert not Hold.objects.exists()


def test_full_slot_refuses_a_hold_and_holds_fill_a_slot(patient_client, doctor):
    slot = SlotFactory(doctor=doctor, capacity=2)
    AppointmentFactory(slot=slot)
    assert hold(client_for(UserFactory()), slot).status_code == 201
    assert seats(slot) == {"booked": 1, "held": 1, "available": 0, "is_bookable": False, "hold_count": 1}
    assert_error(hold(patient_client, slot), 409, code="slot_full")
    # A direct booking finds no seat either (on the one-statement path: the locking path decides).
    assert_error(book(patient_client, slot_id=slot.pk), 409, code="slot_full")
    assert_counters_match_rows(slot)
    assert Hold.objects.count() == 1 and Appointment.objects.count() == 1


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_closed_slot_refuses_a_hold(patient_client, doctor, status):
    closed = SlotFactory(doctor=doctor, status=status)
    assert_error(hold(patient_client, closed), 409, code="slot_closed")
    assert not Hold.objects.exists()


def test_started_slot_refuses_a_hold_with_400(patient_client, doctor):
    start = timezone.now() - timedelta(minutes=5)
    started = SlotFactory(doctor=doctor, start=start, end=start + timedelta(hours=1))
    assert_error(hold(patient_client, started), 400, code="slot_started", attr="slot_id")
    assert not Hold.objects.exists()


def test_hold_honours_idempotency_key(patient_client, slot):
    key = {"HTTP_IDEMPOTENCY_KEY": "hold-once-1"}
    first = patient_client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json", **key)
    again = patient_client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json", **key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Hold.objects.count() == 1 and seats(slot)["hold_count"] == 1


# --- the seat counts read ---------------------------------------------------------------------


def test_held_seats_leave_the_available_listing_and_come_back_when_the_hold_lapses(settings, doctor):
    settings.HOLD_MINUTES = 5
    slot = SlotFactory(doctor=doctor, capacity=1)
    assert hold(client_for(UserFactory()), slot).status_code == 201
    reader = client_for(UserFactory())
    listed = reader.get("/api/v1/slots", {"available": "true", "doctor_id": doctor.pk}).json()["results"]
    assert slot.pk not in [row["id"] for row in listed]
    row = next(r for r in reader.get("/api/v1/slots", {"doctor_id": doctor.pk}).json()["results"] if r["id"] == slot.pk)
    assert (row["held"], row["available"], row["is_bookable"]) == (1, 0, False)
    assert slot.pk not in Slot.objects.bookable().values_list("pk", flat=True)
    with later(6):
        # No job ran, nothing was written: the lapsed hold counts for nothing.
        listed = reader.get("/api/v1/slots", {"available": "true", "doctor_id": doctor.pk}).json()["results"]
        assert slot.pk in [row["id"] for row in listed]
        assert seats(slot) == {"booked": 0, "held": 0, "available": 1, "is_bookable": True, "hold_count": 1}
        assert slot.pk in Slot.objects.bookable().values_list("pk", flat=True)
        (shown,) = client_for(Hold.objects.get().patient).get("/api/v1/holds").json()["results"]
        assert shown["status"] == "expired"
    assert Hold.objects.get().status == Status.ACTIVE  # stored as it was: only a write settles it


def test_hold_status_filter_reads_the_status_as_shown(settings, admin_client, doctor):
    settings.HOLD_MINUTES = 5
    first, second = SlotFactory(doctor=doctor), SlotFactory(doctor=doctor)
    patient = UserFactory()
    assert hold(client_for(patient), first).status_code == 201
    with later(6):
        assert hold(client_for(patient), second).status_code == 201
        active = admin_client.get("/api/v1/holds", {"status": "active"}).json()["results"]
        expired = admin_client.get("/api/v1/holds", {"status": "expired"}).json()["results"]
        assert [row["slot_id"] for row in active] == [second.pk]
        assert [row["slot_id"] for row in expired] == [first.pk]


# --- lapse at write ----------------------------------------------------------------------------


def test_a_lapsed_seat_is_taken_by_a_new_hold_without_any_job(settings, doctor):
    settings.HOLD_MINUTES = 5
    slot = SlotFactory(doctor=doctor, capacity=1)
    first_patient = UserFactory()
    first = hold(client_for(first_patient), slot).json()
    assert_error(hold(client_for(UserFactory()), slot), 409, code="slot_full")
    with later(6):
        second = hold(client_for(UserFactory()), slot)
        assert second.status_code == 201, second.content
        assert Hold.objects.get(pk=first["id"]).status == Status.EXPIRED  # settled by the write
        assert seats(slot) == {"booked": 0, "held": 1, "available": 0, "is_bookable": False, "hold_count": 1}
        assert PendingEvent.objects.filter(topic=f"user.{first_patient.pk}", type="hold.expired").count() == 1
        assert_counters_match_rows(slot)


def test_a_lapsed_seat_is_taken_by_a_direct_booking_without_any_job(settings, doctor):
    settings.HOLD_MINUTES = 5
    slot = SlotFactory(doctor=doctor, capacity=1)
    first = hold(client_for(UserFactory()), slot).json()
    assert_error(book(client_for(UserFactory()), slot_id=slot.pk), 409, code="slot_full")
    with later(6):
        response = book(client_for(UserFactory()), slot_id=slot.pk)
        assert response.status_code == 201, response.content
        assert Hold.objects.get(pk=first["id"]).status == Status.EXPIRED
        assert seats(slot) == {"booked": 1, "held": 0, "available": 0, "is_bookable": False, "hold_count": 0}
        assert_counters_match_rows(slot)


def test_the_same_patient_holds_again_after_its_hold_lapsed(settings, patient_client, slot):
    settings.HOLD_MINUTES = 5
    first = hold(patient_client, slot).json()
    with later(6):
        again = hold(patient_client, slot)
        assert again.status_code == 201, again.content
        assert Hold.objects.get(pk=first["id"]).status == Status.EXPIRED
        assert_counters_match_rows(slot)


def test_booking_a_lapsed_hold_is_409_and_leaves_the_rows(settings, patient_client, slot):
    settings.HOLD_MINUTES = 5
    hold_id = hold(patient_client, slot).json()["id"]
    with later(6):
        assert_error(book(patient_client, hold_id=hold_id), 409, code="hold_expired")
        assert not Appointment.objects.exists()
        assert_error(patient_client.delete(f"/api/v1/holds/{hold_id}"), 409, code="hold_expired")
        assert seats(slot)["available"] == 5


def test_capacity_cut_counts_held_seats_and_settles_lapsed_ones(settings, admin_client, doctor):
    settings.HOLD_MINUTES = 5
    slot = SlotFactory(doctor=doctor, capacity=3)
    AppointmentFactory(slot=slot)
    hold(client_for(UserFactory()), slot)
    assert_error(admin_client.patch(f"/api/v1/slots/{slot.pk}", {"capacity": 1}, format="json"), 409)
    assert seats(slot)["hold_count"] == 1 and Slot.objects.get(pk=slot.pk).capacity == 3
    with later(6):
        response = admin_client.patch(f"/api/v1/slots/{slot.pk}", {"capacity": 1}, format="json")
        assert response.status_code == 200, response.content
        assert (response.json()["held"], response.json()["available"]) == (0, 0)
        assert_counters_match_rows(slot)


# --- book from a hold ------------------------------------------------------------------------------


def test_booking_from_a_hold_moves_its_seat_to_booked(patient_client, patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=1)
    hold_id = hold(patient_client, slot).json()["id"]
    response = book(patient_client, hold_id=hold_id, reason="Follow-up")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slot_id"], body["patient_id"], body["reason"], body["token_number"]) == (
        slot.pk,
        patient.pk,
        "Follow-up",
        1,
    )
    stored = Hold.objects.get(pk=hold_id)
    assert stored.status == Status.USED and stored.appointment_id == body["id"]
    assert seats(slot) == {"booked": 1, "held": 0, "available": 0, "is_bookable": False, "hold_count": 0}
    assert patient_client.get(f"/api/v1/holds/{hold_id}").json()["status"] == "used"
    assert PendingEvent.objects.filter(topic=f"user.{patient.pk}", type="hold.used").count() == 1
    slot_event = PendingEvent.objects.filter(topic=f"hospital.{slot.hospital_id}.slots").latest("seq")
    assert (slot_event.data["booked"], slot_event.data["held"], slot_event.data["available"]) == (1, 0, 0)
    assert Activity.objects.filter(action="create", object_type="appointment", object_id=str(body["id"])).exists()
    # Used once: a second booking from it is refused.
    assert_error(book(patient_client, hold_id=hold_id), 409, code="hold_used")
    assert_counters_match_rows(slot)


@pytest.mark.parametrize("staff", ["admin_user", "hospital_admin", "doctor_user"])
def test_staff_book_from_a_patients_hold(request, staff, slot, patient):
    by = request.getfixturevalue(staff)
    hold_id = hold(client_for(patient), slot).json()["id"]
    response = book(client_for(by), hold_id=hold_id)
    assert response.status_code == 201, response.content
    assert response.json()["patient_id"] == patient.pk
    assert Appointment.objects.get().booked_by_id == by.pk


def test_booking_someone_elses_hold_is_404(patient_client, other_patient_client, other_hospital_admin, slot):
    hold_id = hold(patient_client, slot).json()["id"]
    for client in (other_patient_client, client_for(other_hospital_admin)):
        assert_error(book(client, hold_id=hold_id), 404)
    assert_error(book(patient_client, hold_id=999999), 404)
    assert not Appointment.objects.exists() and Hold.objects.get().status == Status.ACTIVE


def test_ids_beside_the_hold_must_be_its_own(patient_client, patient, other_patient, doctor, slot, other_hospital):
    hold_id = hold(patient_client, slot).json()["id"]
    other_slot = SlotFactory(doctor=doctor)
    assert_error(
        book(patient_client, hold_id=hold_id, slot_id=other_slot.pk), 400, code="hold_mismatch", attr="slot_id"
    )
    assert_error(
        book(patient_client, hold_id=hold_id, hospital_id=other_hospital.pk),
        400,
        code="hospital_mismatch",
        attr="hospital_id",
    )
    staff = client_for(UserFactory(role="hospital_admin", hospital=slot.hospital))
    assert_error(
        book(staff, hold_id=hold_id, patient_id=other_patient.pk), 400, code="patient_mismatch", attr="patient_id"
    )
    assert book(patient_client, hold_id=hold_id, slot_id=slot.pk, patient_id=patient.pk).status_code == 201


def test_booking_needs_a_slot_or_a_hold(patient_client):
    assert_error(book(patient_client), 400, code="required", attr="slot_id")


def test_a_hold_on_a_slot_closed_since_cannot_be_booked(admin_client, patient_client, slot):
    hold_id = hold(patient_client, slot).json()["id"]
    assert admin_client.patch(f"/api/v1/slots/{slot.pk}", {"status": "closed"}, format="json").status_code == 200
    assert_error(book(patient_client, hold_id=hold_id), 409, code="slot_closed")
    assert Hold.objects.get().status == Status.ACTIVE and not Appointment.objects.exists()


def test_holds_and_bookings_share_the_seats_and_tokens(doctor):
    slot = SlotFactory(doctor=doctor, capacity=3)
    holders = [UserFactory() for _ in range(2)]
    hold_ids = [hold(client_for(user), slot).json()["id"] for user in holders]
    assert book(client_for(UserFactory()), slot_id=slot.pk).status_code == 201
    assert_error(book(client_for(UserFactory()), slot_id=slot.pk), 409, code="slot_full")
    tokens = [
        book(client_for(user), hold_id=hold_id).json()["token_number"] for user, hold_id in zip(holders, hold_ids)
    ]
    assert tokens == [2, 3]
    assert seats(slot) == {"booked": 3, "held": 0, "available": 0, "is_bookable": False, "hold_count": 0}


# --- release ----------------------------------------------------------------------------------------


def test_patient_releases_its_hold(patient_client, patient, slot):
    hold_id = hold(patient_client, slot).json()["id"]
    response = patient_client.delete(f"/api/v1/holds/{hold_id}")
    assert response.status_code == 204
    assert Hold.objects.get().status == Status.RELEASED
    assert seats(slot) == {"booked": 0, "held": 0, "available": 5, "is_bookable": True, "hold_count": 0}
    assert PendingEvent.objects.filter(topic=f"user.{patient.pk}", type="hold.released").count() == 1
    assert Activity.objects.filter(object_type="hold", object_id=str(hold_id), action="action").exists()
    assert_error(patient_client.delete(f"/api/v1/holds/{hold_id}"), 409, code="hold_released")
    assert_error(book(patient_client, hold_id=hold_id), 409, code="hold_released")
    # The seat is free again: the patient may hold it anew.
    assert hold(patient_client, slot).status_code == 201


@pytest.mark.parametrize("staff", ["admin_user", "hospital_admin", "doctor_user"])
def test_staff_release_a_patients_hold(request, staff, slot, patient):
    hold_id = hold(client_for(patient), slot).json()["id"]
    assert client_for(request.getfixturevalue(staff)).delete(f"/api/v1/holds/{hold_id}").status_code == 204
    assert Hold.objects.get().status == Status.RELEASED and seats(slot)["hold_count"] == 0


def test_release_of_a_used_hold_is_409(patient_client, slot):
    hold_id = hold(patient_client, slot).json()["id"]
    assert book(patient_client, hold_id=hold_id).status_code == 201
    assert_error(patient_client.delete(f"/api/v1/holds/{hold_id}"), 409, code="hold_used")
    assert Hold.objects.get().status == Status.USED and seats(slot)["booked"] == 1


# --- visibility -------------------------------------------------------------------------------------


def test_holds_are_visible_to_the_patient_its_hospitals_staff_and_admin_only(
    request, patient, slot, other_patient_client, other_hospital_admin_client, driver_client
):
    hold_id = hold(client_for(patient), slot).json()["id"]
    for name in ("patient", "hospital_admin", "doctor_user", "admin_user"):
        client = client_for(request.getfixturevalue(name))
        assert client.get(f"/api/v1/holds/{hold_id}").status_code == 200, name
        assert [row["id"] for row in client.get("/api/v1/holds").json()["results"]] == [hold_id], name
    for client in (other_patient_client, other_hospital_admin_client, driver_client):
        assert_error(client.get(f"/api/v1/holds/{hold_id}"), 404)
        assert client.get("/api/v1/holds").json()["results"] == []
    other_doctor_client = client_for(DoctorFactory(hospital=request.getfixturevalue("other_hospital")).user)
    assert_error(other_doctor_client.get(f"/api/v1/holds/{hold_id}"), 404)


def test_a_hidden_hold_cannot_be_released_and_stays_active(
    patient, slot, other_patient_client, other_hospital_admin_client, driver_client, api
):
    hold_id = hold(client_for(patient), slot).json()["id"]
    for client in (other_patient_client, other_hospital_admin_client):
        assert_error(client.delete(f"/api/v1/holds/{hold_id}"), 404)
    assert driver_client.delete(f"/api/v1/holds/{hold_id}").status_code in (403, 404)
    assert api.delete(f"/api/v1/holds/{hold_id}").status_code == 401
    assert Hold.objects.get().status == Status.ACTIVE and seats(slot)["hold_count"] == 1


def test_holds_are_never_written_through_put_or_patch(patient_client, slot):
    hold_id = hold(patient_client, slot).json()["id"]
    for method in ("put", "patch"):
        assert (
            getattr(patient_client, method)(f"/api/v1/holds/{hold_id}", {"status": "used"}, format="json").status_code
            == 405
        )
    assert patient_client.post("/api/v1/holds", {"slot_id": slot.pk}, format="json").status_code == 405
    assert Hold.objects.get().status == Status.ACTIVE


def test_seat_counters_equal_the_rows_after_a_mix(settings, doctor):
    settings.HOLD_MINUTES = 5
    slots = [SlotFactory(doctor=doctor, capacity=3) for _ in range(2)]
    users = [UserFactory() for _ in range(6)]
    for index, user in enumerate(users):
        client, slot = client_for(user), slots[index % 2]
        response = hold(client, slot)
        if index % 3 == 0 and response.status_code == 201:
            book(client, hold_id=response.json()["id"])
        elif index % 3 == 1 and response.status_code == 201:
            client.delete(f"/api/v1/holds/{response.json()['id']}")
    counts = Slot.objects.annotate(active=Count("holds", filter=Q(holds__status=Status.ACTIVE)))
    for slot in counts.filter(pk__in=[s.pk for s in slots]):
        assert slot.hold_count == slot.active
        assert_counters_match_rows(slot)


def test_a_kept_bookable_listing_holds_only_until_the_first_hold_lapses(settings, api, doctor):
    """A lapsing hold frees a seat with no write to invalidate the read cache: the kept page says until when."""
    settings.HOLD_MINUTES = 5
    settings.READ_CACHE_SECONDS = 3600
    slot = SlotFactory(doctor=doctor, capacity=1)
    assert hold(client_for(UserFactory()), slot).status_code == 201
    query = {"available": "true", "hospital_id": doctor.hospital_id}
    assert api.get("/api/v1/slots", query).json()["count"] == 0
    assert api.get("/api/v1/slots", query).json()["count"] == 0  # kept
    with later(6):
        page = api.get("/api/v1/slots", query).json()
        assert [row["id"] for row in page["results"]] == [slot.pk]
        assert (page["results"][0]["held"], page["results"][0]["available"]) == (0, 1)
