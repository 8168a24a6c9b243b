"""One answer to "why can this slot not be booked" and one table of appointment transitions.

`booking_refusal` is asked by the booking service (both paths), rescheduling and the slot's
`is_bookable`; `SlotQuerySet.bookable_q` is its query form and `BOOK_SQL` its statement form. These
tests keep the four in step, and keep the statement's written-out status values equal to the enums.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import Activity, User
from accounts.tests.factories import HospitalFactory, UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Appointment, Doctor, Hold, Slot, Visit, booking_refusal
from appointments.services.bookings import BOOK_SQL
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from appointments.topics import appointment_state, slot_state, slots_topic
from feed.models import PendingEvent
from feed.topics import user_topic
from hospitals.models import Hospital

pytestmark = pytest.mark.django_db

Status = Appointment.Status


# --- BOOK_SQL is the models' statement ------------------------------------------------------


def test_book_sql_status_values_are_the_model_enums():
    active = ", ".join(f"'{status}'" for status in Appointment.ACTIVE)
    assert f"a.status IN ({active})" in BOOK_SQL
    assert f"s.status = '{Slot.Status.OPEN}'" in BOOK_SQL
    assert f"t.opd_status <> '{Hospital.OpdStatus.CLOSED}'" in BOOK_SQL
    assert f"seat.last_token, '{Status.BOOKED}'" in BOOK_SQL
    assert f"'{Activity.Action.CREATE}', 'appointment'" in BOOK_SQL
    # Any status the statement compares with is a value of the models' enums.
    compared = re.findall(r"status\s*(?:=|<>)\s*'([^']*)'", BOOK_SQL)
    compared += [
        value for group in re.findall(r"status IN \(([^)]*)\)", BOOK_SQL) for value in re.findall(r"'([^']*)'", group)
    ]
    assert len(compared) >= 4
    assert set(compared) <= {*Slot.Status, *Appointment.Status, *Hospital.OpdStatus}
    # Every literal in the statement is one of those (or an empty reason / empty detail): a new
    # status value written into it must be pinned here too.
    literals = re.findall(r"'([^']*)'", BOOK_SQL)
    expected = [
        *Appointment.ACTIVE,
        Slot.Status.OPEN,
        Hospital.OpdStatus.CLOSED,
        Status.BOOKED,
        "",
        Activity.Action.CREATE,
        "appointment",
        "{}",
        # the change feed's two events: topics, types and keys as appointments.topics writes them
        "hospital.",
        ".slots",
        "slot.changed",
        "UTC",
        'YYYY-MM-DD"T"HH24:MI:SS"Z"',
        *slot_state(SimpleNamespace(pk=1, doctor_id=1, start=None, capacity=1, booked=0, status="")),
        "user.",
        f"appointment.{Status.BOOKED}",
        *appointment_state(SimpleNamespace(pk=1, status="", slot_id=1, doctor_id=1, hospital_id=1, token_number=1)),
        Status.BOOKED,
    ]
    assert sorted(literals) == sorted(str(value) for value in expected)
    assert slots_topic(7) == "hospital." + "7" + ".slots" and user_topic(7) == "user." + "7"


def test_book_sql_books_only_a_slot_no_hold_keeps_a_seat_of():
    """The seat UPDATE re-checks `hold_count` (a column of the slot row, which PostgreSQL re-reads after
    waiting for the row lock): a slot with holds goes to the locking path, which settles lapsed ones."""
    (seat,) = re.findall(r"seat AS \((.*?)\n\),", BOOK_SQL, flags=re.DOTALL)
    assert "s.booked < s.capacity AND s.hold_count = 0" in seat
    assert "SELECT" not in seat.split("WHERE", 1)[1]  # no subquery in the re-checked condition


def test_book_sql_tables_are_the_models_tables():
    tables = set(re.findall(r"(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)\s", BOOK_SQL)) - {"target", "seat", "booking"}
    models = (Slot, Appointment, Doctor, Hospital, User, Activity, PendingEvent)
    assert tables == {model._meta.db_table for model in models}


def test_one_active_booking_constraint_uses_the_active_statuses():
    (constraint,) = [c for c in Appointment._meta.constraints if c.name == "appointment_one_active_per_patient_slot"]
    assert constraint.condition.children == [("status__in", [str(status) for status in Appointment.ACTIVE])]


# --- one refusal, four readers ----------------------------------------------------------------


def _held_full_slot(doctor):
    """Capacity 2: one seat booked, one kept by an active hold."""
    slot = SlotFactory(doctor=doctor, capacity=2, booked=1, last_token=1, hold_count=1)
    Hold.objects.create(
        slot=slot, patient=UserFactory(), hospital=slot.hospital, expires_at=timezone.now() + timedelta(minutes=5)
    )
    return slot


def _lapsed_held_slot(doctor):
    """Capacity 1, its one seat kept by a hold that has lapsed (not yet settled): bookable."""
    slot = SlotFactory(doctor=doctor, capacity=1, hold_count=1)
    Hold.objects.create(
        slot=slot, patient=UserFactory(), hospital=slot.hospital, expires_at=timezone.now() - timedelta(seconds=1)
    )
    return slot


def _slot_cases(doctor):
    """(slot, the refusal code booking it gives, or None) for every reason a slot refuses a booking."""
    started = timezone.now() - timedelta(minutes=5)
    unavailable = DoctorFactory(hospital=doctor.hospital, is_available=False)
    opd_closed = DoctorFactory(hospital=HospitalFactory(opd_status=Hospital.OpdStatus.CLOSED))
    inactive = DoctorFactory(hospital=HospitalFactory(is_active=False))
    return [
        (SlotFactory(doctor=doctor), None),
        (SlotFactory(doctor=doctor, start=started, end=started + timedelta(hours=1)), "slot_started"),
        (SlotFactory(doctor=doctor, status=Slot.Status.CLOSED), "slot_closed"),
        (SlotFactory(doctor=doctor, status=Slot.Status.CANCELLED), "slot_closed"),
        (SlotFactory(doctor=opd_closed), "opd_closed"),
        (SlotFactory(doctor=unavailable), "doctor_unavailable"),
        (SlotFactory(doctor=doctor, capacity=1, booked=1, last_token=1), "slot_full"),
        (_held_full_slot(doctor), "slot_full"),
        (_lapsed_held_slot(doctor), None),
        (SlotFactory(doctor=inactive), "inactive"),
    ]


@pytest.mark.usefixtures("booking_path")
def test_booking_refusal_is_what_booking_is_bookable_and_the_bookable_query_say(admin_client, patient_client, doctor):
    cases = _slot_cases(doctor)
    bookable_ids = set(Slot.objects.bookable().values_list("pk", flat=True))
    for slot, code in cases:
        refusal = booking_refusal(Slot.objects.select_related("hospital", "doctor").get(pk=slot.pk))
        assert (refusal[0] if refusal else None) == code, slot
        assert (slot.pk in bookable_ids) == (code is None), slot
        assert admin_client.get(f"/api/v1/slots/{slot.pk}").json()["is_bookable"] == (code is None), slot
        response = patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
        if code is None:
            assert response.status_code == 201, response.content
        elif code == "inactive":
            assert_error(response, 404)  # a deactivated hospital's slots are not there to book
        elif code == "slot_started":
            assert_error(response, 400, code=code, attr="slot_id")
        else:
            assert_error(response, 409, code=code)
        if code is not None:
            assert not Appointment.objects.filter(slot=slot).exists()
            assert Slot.objects.get(pk=slot.pk).booked == slot.booked


def test_rescheduling_into_an_unbookable_slot_gives_the_same_refusal(patient_client, patient, doctor):
    appointment = AppointmentFactory(slot=SlotFactory(doctor=doctor), patient=patient)
    for slot, code in [(slot, code) for slot, code in _slot_cases(doctor) if code not in (None, "inactive")]:
        response = patient_client.patch(f"/api/v1/appointments/{appointment.pk}", {"slot_id": slot.pk}, format="json")
        if code == "slot_started":
            assert_error(response, 400, code=code, attr="slot_id")
        else:
            assert_error(response, 409, code=code)
        appointment.refresh_from_db()
        assert appointment.slot_id != slot.pk and Slot.objects.get(pk=slot.pk).booked == slot.booked


# --- Appointment.TRANSITIONS is the whole truth -------------------------------------------------


ACTIONS = {"check-in": Status.CHECKED_IN, "cancel": Status.CANCELLED, "complete": Status.COMPLETED}


@pytest.mark.parametrize("table", ["TRANSITIONS", "VISIT_TRANSITIONS"])
def test_transition_tables_name_every_status(table):
    assert set(getattr(Appointment, table)) == set(Status)


@pytest.mark.parametrize(
    "start", [Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW]
)
@pytest.mark.parametrize("path", sorted(ACTIONS))
def test_each_action_makes_exactly_the_moves_in_the_table(admin_client, doctor, start, path):
    """Future slots: check-in, cancel and complete follow TRANSITIONS alone (no-show waits for the start)."""
    appointment = AppointmentFactory(slot=SlotFactory(doctor=doctor), status=start)
    target = ACTIONS[path]
    response = admin_client.post(f"/api/v1/appointments/{appointment.pk}/{path}", {"reason": "x"}, format="json")
    appointment.refresh_from_db()
    if target in Appointment.TRANSITIONS[start]:
        assert response.status_code == 200, response.content
        assert appointment.status == target
    else:
        assert_error(response, 409, code="illegal_transition")
        assert appointment.status == start


@pytest.mark.parametrize(
    "start", [Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW]
)
def test_a_visit_makes_exactly_the_moves_in_the_visit_table(doctor_client, doctor, start):
    appointment = AppointmentFactory(slot=SlotFactory(doctor=doctor), status=start)
    response = doctor_client.post("/api/v1/visits", {"appointment_id": appointment.pk}, format="json")
    appointment.refresh_from_db()
    if Status.COMPLETED in Appointment.VISIT_TRANSITIONS[start]:
        assert response.status_code == 201, response.content
        assert appointment.status == Status.COMPLETED
    else:
        assert_error(response, 409, code="illegal_transition")
        assert appointment.status == start and not Visit.objects.filter(appointment=appointment).exists()
