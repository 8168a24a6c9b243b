"""Doctor leave (API.md section 17) through the HTTP API: slots inside close (and only those), active
bookings refuse the leave with 409 leave_has_bookings listing them unless `cancel_bookings`, which
cancels and notifies each; generation skips leave; deleting a future leave reopens what it closed (and
offers the seats to the waitlist); roles; bookings on both paths refused once it is recorded."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.utils import assert_error
from appointments.models import Appointment, Hold, Slot
from appointments.tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    HoldFactory,
    OpdScheduleFactory,
    SlotFactory,
)
from appointments.waitlist_models import DoctorLeave, WaitlistEntry
from conftest import client_for
from feed.models import PendingEvent

pytestmark = pytest.mark.django_db


def day_start(days=2):
    return (timezone.now() + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


def slots_of(doctor, first, count=4, minutes=60):
    return [
        SlotFactory(
            doctor=doctor, start=first + timedelta(minutes=minutes * i), end=first + timedelta(minutes=minutes * i + 30)
        )
        for i in range(count)
    ]


def leaves_url(doctor) -> str:
    return f"/api/v1/doctors/{doctor.pk}/leaves"


def create_leave(client, doctor, start, end, **body):
    payload = {"start": start.isoformat(), "end": end.isoformat(), "reason": "Conference", **body}
    return client.post(leaves_url(doctor), payload, format="json")


def statuses(slots) -> list[str]:
    return [Slot.objects.get(pk=slot.pk).status for slot in slots]


def test_leave_closes_the_slots_inside_and_only_those(doctor_client, doctor):
    first = day_start()
    slots = slots_of(doctor, first)
    response = create_leave(doctor_client, doctor, first + timedelta(minutes=60), first + timedelta(minutes=150))
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "start", "end", "reason", "created_at"} <= set(body)
    assert body["reason"] == "Conference"
    assert body["closed_slot_ids"] == [slots[1].pk, slots[2].pk]
    assert body["cancelled_appointment_ids"] == []
    assert statuses(slots) == ["open", "closed", "closed", "open"]
    assert doctor_client.get(f"{leaves_url(doctor)}/{body['id']}").json()["id"] == body["id"]
    assert PendingEvent.objects.filter(topic=f"hospital.{doctor.hospital_id}.slots", type="slot.changed").exists()
    assert Activity.objects.filter(object_type="doctor_leave", action="create", object_id=str(body["id"])).exists()


def test_active_bookings_inside_refuse_the_leave_with_409_listing_them(hospital_admin_client, doctor):
    first = day_start()
    slots = slots_of(doctor, first)
    inside = AppointmentFactory(slot=slots[1])
    AppointmentFactory(slot=slots[0])  # outside the leave
    AppointmentFactory(slot=slots[2], status=Appointment.Status.CANCELLED)  # not active
    response = create_leave(hospital_admin_client, doctor, first + timedelta(minutes=60), first + timedelta(hours=5))
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["type"] == "client_error"
    assert [error["code"] for error in body["errors"]] == ["leave_has_bookings"]
    assert [(row["appointment_id"], row["patient_id"]) for row in body["bookings"]] == [(inside.pk, inside.patient_id)]
    assert body["bookings"][0]["patient"] == inside.patient.fullname
    assert body["bookings"][0]["start"]
    assert not DoctorLeave.objects.exists()
    assert statuses(slots) == ["open"] * 4


def test_cancel_bookings_cancels_and_notifies_each_patient(hospital_admin_client, doctor):
    first = day_start()
    slots = slots_of(doctor, first)
    booked = [AppointmentFactory(slot=slots[1]), AppointmentFactory(slot=slots[2])]
    response = create_leave(
        hospital_admin_client, doctor, first + timedelta(minutes=60), first + timedelta(hours=5), cancel_bookings=True
    )
    assert response.status_code == 201, response.content
    assert sorted(response.json()["cancelled_appointment_ids"]) == sorted(a.pk for a in booked)
    for appointment in booked:
        appointment.refresh_from_db()
        assert (appointment.status, appointment.cancel_reason) == ("cancelled", "doctor unavailable")
        assert PendingEvent.objects.filter(
            topic=f"user.{appointment.patient_id}", type="appointment.cancelled"
        ).exists()
    assert statuses(slots) == ["open", "closed", "closed", "closed"]
    assert [Slot.objects.get(pk=slot.pk).booked for slot in slots[1:3]] == [0, 0]


def test_leave_releases_holds_and_sends_offers_back_to_waiting(doctor_client, doctor, patient):
    first = day_start()
    slots = slots_of(doctor, first, count=1)
    hold = HoldFactory(slot=slots[0], patient=patient)
    entry = WaitlistEntry.objects.create(
        patient=patient, doctor=doctor, hospital=doctor.hospital, date=slots[0].local_date, status="offered", hold=hold
    )
    assert create_leave(doctor_client, doctor, first, first + timedelta(hours=1)).status_code == 201
    hold.refresh_from_db()
    entry.refresh_from_db()
    assert (hold.status, entry.status, entry.hold_id) == (Hold.Status.RELEASED, "waiting", None)
    assert Slot.objects.get(pk=slots[0].pk).hold_count == 0


def test_overlapping_leave_is_409(doctor_client, doctor):
    first = day_start()
    assert create_leave(doctor_client, doctor, first, first + timedelta(hours=2)).status_code == 201
    assert_error(
        create_leave(doctor_client, doctor, first + timedelta(hours=1), first + timedelta(hours=3)),
        409,
        code="leave_overlaps",
    )


@pytest.mark.parametrize(
    ("start", "end", "attr"),
    [(2, 1, "end"), (-3, -2, "end"), (1, 24 * 400, "end")],
)
def test_invalid_leave_times_are_400(doctor_client, doctor, start, end, attr):
    now = timezone.now()
    response = create_leave(doctor_client, doctor, now + timedelta(hours=start), now + timedelta(hours=end))
    assert_error(response, 400, attr=attr)


def test_generation_skips_leave(doctor_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor, start_time="09:00", end_time="12:00", slot_minutes=30)
    zone = Slot(hospital=doctor.hospital).zone
    day = (timezone.now() + timedelta(days=3)).astimezone(zone).date()
    start = datetime.combine(day, time(10), tzinfo=zone)
    assert create_leave(doctor_client, doctor, start, start + timedelta(hours=1)).status_code == 201
    response = doctor_client.post(
        f"/api/v1/opd-schedules/{schedule.pk}/generate-slots",
        {"from_date": str(day), "to_date": str(day)},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 4, "skipped": 2}
    local_starts = sorted(slot.start.astimezone(zone).strftime("%H:%M") for slot in Slot.objects.filter(doctor=doctor))
    assert local_starts == ["09:00", "09:30", "11:00", "11:30"]


def test_deleting_a_future_leave_reopens_what_it_closed_and_offers_the_seats(doctor_client, doctor, patient):
    first = day_start()
    slots = slots_of(doctor, first, count=3)
    Slot.objects.filter(pk=slots[2].pk).update(status=Slot.Status.CLOSED)  # closed before: stays closed
    body = create_leave(doctor_client, doctor, first, first + timedelta(hours=3)).json()
    assert body["closed_slot_ids"] == [slots[0].pk, slots[1].pk]
    entry = WaitlistEntry.objects.create(
        patient=patient, doctor=doctor, hospital=doctor.hospital, date=slots[0].local_date
    )
    assert doctor_client.delete(f"{leaves_url(doctor)}/{body['id']}").status_code == 204
    assert statuses(slots) == ["open", "open", "closed"]
    entry.refresh_from_db()
    assert entry.status == "offered" and entry.hold.slot_id == slots[0].pk
    assert DoctorLeave.objects.get(pk=body["id"]).deleted_at is not None
    assert doctor_client.get(leaves_url(doctor)).json()["count"] == 0
    assert_error(doctor_client.delete(f"{leaves_url(doctor)}/{body['id']}"), 404)


def test_a_started_leave_cannot_be_deleted(doctor_client, doctor):
    leave = DoctorLeave.objects.create(
        doctor=doctor,
        hospital=doctor.hospital,
        start=timezone.now() - timedelta(hours=1),
        end=timezone.now() + timedelta(hours=1),
    )
    assert_error(doctor_client.delete(f"{leaves_url(doctor)}/{leave.pk}"), 409, code="leave_started")


def test_leave_role_matrix(
    client,
    admin_client,
    hospital_admin_client,
    other_hospital_admin_client,
    doctor_client,
    driver_client,
    patient_client,
    doctor,
    hospital,
):
    first = day_start()
    colleague = client_for(DoctorFactory(hospital=hospital).user)
    for refused in (other_hospital_admin_client, colleague, driver_client, patient_client):
        assert_error(create_leave(refused, doctor, first, first + timedelta(hours=1)), 403)
        assert_error(refused.get(leaves_url(doctor)), 403)
    assert_error(create_leave(client, doctor, first, first + timedelta(hours=1)), 401)
    assert_error(create_leave(admin_client, DoctorFactory.build(pk=999999), first, first + timedelta(hours=1)), 404)
    assert not DoctorLeave.objects.exists()
    for index, allowed in enumerate((doctor_client, hospital_admin_client, admin_client)):
        start = first + timedelta(hours=2 * index)
        response = create_leave(allowed, doctor, start, start + timedelta(hours=1))
        assert response.status_code == 201, response.content
    leave = DoctorLeave.objects.first()
    assert_error(other_hospital_admin_client.delete(f"{leaves_url(doctor)}/{leave.pk}"), 403)
    assert_error(doctor_client.get(f"{leaves_url(DoctorFactory(hospital=hospital))}/{leave.pk}"), 403)


def test_booking_after_leave_is_refused_on_both_paths(booking_path, patient_client, doctor_client, doctor):
    first = day_start()
    slots = slots_of(doctor, first, count=1)
    create_leave(doctor_client, doctor, first, first + timedelta(hours=1))
    response = patient_client.post("/api/v1/appointments", {"slot_id": slots[0].pk}, format="json")
    assert_error(response, 409, code="slot_closed")
    assert_error(patient_client.post(f"/api/v1/slots/{slots[0].pk}/hold", {}, format="json"), 409, code="slot_closed")


def test_leave_list_runs_in_bounded_queries(django_assert_max_num_queries, doctor_client, doctor):
    first = day_start()
    slots_of(doctor, first, count=12, minutes=60)
    for index in range(6):
        start = first + timedelta(hours=2 * index)
        assert create_leave(doctor_client, doctor, start, start + timedelta(hours=1)).status_code == 201
    with django_assert_max_num_queries(8):
        body = doctor_client.get(leaves_url(doctor)).json()
    assert body["count"] == 6
    assert all(len(row["closed_slot_ids"]) == 1 for row in body["results"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"},
        {"start": "9999-12-31T23:59:59Z", "end": "9999-12-31T23:59:59Z"},
        {"start": "2030-01-01T10:00:00", "end": "2030-01-01T11:00:00", "cancel_bookings": "maybe"},
        {"start": [], "end": {}, "reason": "x" * 600},
    ],
)
def test_junk_leave_and_waitlist_input_is_400_never_500(doctor_client, patient_client, doctor, body):
    assert_error(doctor_client.post(leaves_url(doctor), body, format="json"), 400)
    junk = {"doctor_id": body.get("start", "x"), "date": "9999-12-31", "from_time": "25:00", **body}
    assert_error(patient_client.post("/api/v1/waitlist", junk, format="json"), 400)
    assert_error(doctor_client.get(f"/api/v1/doctors/{'9' * 19}/leaves"), 404)
    assert patient_client.get("/api/v1/waitlist", {"date": "junk", "status": "nope"}).status_code == 400


def slot_body(doctor, start, **extra):
    return {
        "doctor_id": doctor.pk,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        **extra,
    }


def test_an_open_slot_added_by_hand_inside_leave_is_409_doctor_on_leave(doctor_client, hospital_admin_client, doctor):
    first = day_start()
    assert create_leave(doctor_client, doctor, first, first + timedelta(hours=2)).status_code == 201
    for client in (doctor_client, hospital_admin_client):
        inside = client.post("/api/v1/slots", slot_body(doctor, first + timedelta(minutes=90)), format="json")
        assert_error(inside, 409, code="doctor_on_leave")
        # Overlapping the leave's end is inside it too.
        straddling = client.post("/api/v1/slots", slot_body(doctor, first + timedelta(minutes=110)), format="json")
        assert_error(straddling, 409, code="doctor_on_leave")
    assert not Slot.objects.filter(doctor=doctor).exists()
    # A closed slot there is harmless, and an open one after the leave is fine.
    closed = doctor_client.post("/api/v1/slots", slot_body(doctor, first, status="closed"), format="json")
    assert closed.status_code == 201, closed.content
    after = doctor_client.post("/api/v1/slots", slot_body(doctor, first + timedelta(hours=2)), format="json")
    assert after.status_code == 201, after.content
    assert sorted(Slot.objects.filter(doctor=doctor).values_list("status", flat=True)) == ["closed", "open"]


def test_reopening_a_slot_inside_leave_is_409_and_leaves_it_closed(doctor_client, hospital_admin_client, doctor):
    first = day_start()
    slots = slots_of(doctor, first, count=2)
    assert create_leave(doctor_client, doctor, first, first + timedelta(minutes=30)).status_code == 201
    assert statuses(slots) == ["closed", "open"]
    for client in (doctor_client, hospital_admin_client):
        response = client.patch(f"/api/v1/slots/{slots[0].pk}", {"status": "open"}, format="json")
        assert_error(response, 409, code="doctor_on_leave")
        response = client.patch(f"/api/v1/slots/{slots[0].pk}", {"status": "open", "capacity": 3}, format="json")
        assert_error(response, 409, code="doctor_on_leave")
    assert Slot.objects.filter(pk=slots[0].pk).values_list("status", "capacity").get() == ("closed", slots[0].capacity)
    # Other edits of a slot inside leave still work, and reopening one outside it does too.
    assert doctor_client.patch(f"/api/v1/slots/{slots[0].pk}", {"capacity": 2}, format="json").status_code == 200
    Slot.objects.filter(pk=slots[1].pk).update(status=Slot.Status.CLOSED)
    assert doctor_client.patch(f"/api/v1/slots/{slots[1].pk}", {"status": "open"}, format="json").status_code == 200
    assert statuses(slots) == ["closed", "open"]


def test_deleting_a_leave_keeps_closed_a_slot_that_an_adjacent_leave_still_covers(doctor_client, doctor):
    first = day_start()
    straddling = SlotFactory(doctor=doctor, start=first + timedelta(minutes=45), end=first + timedelta(minutes=75))
    earlier = create_leave(doctor_client, doctor, first, first + timedelta(hours=1)).json()
    assert earlier["closed_slot_ids"] == [straddling.pk]
    assert (
        create_leave(doctor_client, doctor, first + timedelta(hours=1), first + timedelta(hours=2)).status_code == 201
    )
    assert doctor_client.delete(f"{leaves_url(doctor)}/{earlier['id']}").status_code == 204
    assert statuses([straddling]) == ["closed"]


def test_generation_over_several_days_creates_no_open_slot_inside_leave(doctor_client, doctor):
    """Generation over several days creates no open slot inside any leave."""
    schedule = OpdScheduleFactory(
        doctor=doctor, start_time="09:00", end_time="11:00", slot_minutes=60, weekdays=[0, 1, 2, 3, 4, 5, 6]
    )
    zone = Slot(hospital=doctor.hospital).zone
    day = (timezone.now() + timedelta(days=3)).astimezone(zone).date()
    leave_start = datetime.combine(day, time(10), tzinfo=zone)
    assert create_leave(doctor_client, doctor, leave_start, leave_start + timedelta(days=1)).status_code == 201
    response = doctor_client.post(
        f"/api/v1/opd-schedules/{schedule.pk}/generate-slots",
        {"from_date": str(day), "to_date": str(day + timedelta(days=2))},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 4, "skipped": 2}
    leave = DoctorLeave.objects.get()
    assert not Slot.objects.filter(doctor=doctor, start__lt=leave.end, end__gt=leave.start).exists()
