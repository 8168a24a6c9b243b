"""Booking, rescheduling, cancelling and moving appointments along their legal transitions.

Lock order, everywhere: the appointment row first (when there is one), then slot rows in primary-key
order. Booking locks only the slot, so no two transactions ever wait on each other in a cycle.

On PostgreSQL a booking is one statement (`BOOK_SQL`): the seat is taken by a conditional UPDATE of the
slot row, and the appointment and its audit entry are inserted by the same statement, so it commits or
fails as one. A concurrent booking of the same slot waits for the row and PostgreSQL re-checks the
seat conditions on the row it then sees; the CHECK (booked + hold_count <= capacity) and the partial
unique index (one active booking per patient and slot) back the rules up. A booking it refuses is
explained from the slot as the statement saw it; when that shows no reason (the slot changed
meanwhile), the locking path below decides. Other databases (SQLite, for trying the API out) always
take the locking path.

Holds (services/holds.py) keep seats in the slot's `hold_count` column. The statement books only a
slot with no hold on it (`hold_count = 0`, a column PostgreSQL re-reads on the row a concurrent
transaction left); otherwise (some of those holds may have lapsed) the locking path settles the
lapsed holds under the row lock and counts `booked + hold_count` against the capacity.
"""

from collections import namedtuple

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.activity import Action, record_row
from accounts.models import User
from appointments.models import (
    ALREADY_BOOKED,
    ALREADY_BOOKED_MESSAGE,
    Appointment,
    Slot,
)
from appointments.services.booking_rules import (
    check_open,
    has_active_booking,
    hospital_scope,
    locked_slots,
    patient_for,
    refuse,
    take_seat,
)
from appointments.services.queues import queue_join_checked_in, queue_settle_for_appointment
from appointments.services.seats import settle_lapsed_holds
from appointments.services.statement_rows import booked_from_row, run_statement, seen_slot, statement_params
from appointments.topics import appointment_changed, slots_topic
from hms.api.exceptions import Conflict
from hms.api.readcache import writes_committed
from hospitals.access import manages_hospital

Status = Appointment.Status

ONE_ACTIVE_CONSTRAINT = "appointment_one_active_per_patient_slot"
ALREADY_BOOKED_REFUSAL = (ALREADY_BOOKED_MESSAGE, ALREADY_BOOKED)
# Databases on which a booking is the one statement below (it needs data-modifying WITH queries).
ONE_STATEMENT_VENDORS = frozenset({"postgresql"})


# The slot as the statement's snapshot saw it (`target`, also what a refusal is explained from); the
# seat taken by a conditional UPDATE that PostgreSQL re-checks on the row a concurrent booking left; the
# appointment and its audit entry inserted only when a seat was taken. Table and column names are the
# models' (appointments_slot = Slot, ...) and so are the status values (Appointment.ACTIVE,
# Slot.Status.OPEN, Hospital.OpdStatus.CLOSED, Action.CREATE), written out so that the statement
# takes only the request's values as parameters. Staying in step with the locking path is what
# appointments/tests/test_booking.py checks: every test there runs on both.
BOOK_SQL = """
WITH target AS (
    SELECT s.id, s.hospital_id, s.doctor_id, s.start, s."end", s.status, s.booked, s.capacity, s.hold_count,
           h.opd_status, h.timezone, d.is_available, d.specialization, d.department, d.user_id, u.fullname,
           EXISTS (SELECT 1 FROM appointments_appointment a
                   WHERE a.slot_id = s.id AND a.patient_id = %(patient)s
                     AND a.status IN ('booked', 'checked_in')) AS holds
    FROM appointments_slot s
    JOIN hospitals_hospital h ON h.id = s.hospital_id
    JOIN appointments_doctor d ON d.id = s.doctor_id
    JOIN accounts_user u ON u.id = d.user_id
    WHERE s.id = %(slot)s AND h.is_active
),
seat AS (
    UPDATE appointments_slot s SET booked = s.booked + 1, last_token = s.last_token + 1
    FROM target t
    WHERE s.id = t.id AND s.status = 'open' AND s.booked < s.capacity AND s.hold_count = 0 AND s.start > %(now)s
      AND t.opd_status <> 'closed' AND t.is_available AND NOT t.holds
      AND (%(scope)s::bigint IS NULL OR t.hospital_id = %(scope)s::bigint)
      AND (%(hospital)s::bigint IS NULL OR t.hospital_id = %(hospital)s::bigint)
    RETURNING s.id, s.booked, s.last_token, s.capacity, s.status
),
booking AS (
    INSERT INTO appointments_appointment (patient_id, slot_id, doctor_id, hospital_id, token_number, status,
                                          reason, cancel_reason, booked_by_id, created_at, updated_at)
    SELECT %(patient)s, t.id, t.doctor_id, t.hospital_id, seat.last_token, 'booked',
           %(reason)s, '', %(by)s, %(now)s, %(now)s
    FROM seat JOIN target t ON t.id = seat.id
    RETURNING id, token_number
),
audit AS (
    INSERT INTO accounts_activity (at, actor_id, actor_role, actor_name, action, object_type, object_id,
                                   patient_id, ip, request_id, detail)
    SELECT %(now)s, %(by)s, %(actor_role)s, %(actor_name)s, 'create', 'appointment', booking.id,
           %(patient)s, %(ip)s, %(request_id)s, '{}'::jsonb
    FROM booking
),
events AS (
    INSERT INTO feed_pendingevent (at, topic, type, data)
    SELECT %(now)s, 'hospital.' || t.hospital_id || '.slots', 'slot.changed',
           jsonb_build_object('slot_id', t.id, 'doctor_id', t.doctor_id,
                              'start', to_char(t.start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                              'capacity', seat.capacity, 'booked', seat.booked, 'held', 0,
                              'available', GREATEST(seat.capacity - seat.booked, 0), 'status', seat.status)
    FROM seat JOIN target t ON t.id = seat.id
    UNION ALL
    SELECT %(now)s, 'user.' || %(patient)s, 'appointment.booked',
           jsonb_build_object('appointment_id', booking.id, 'status', 'booked', 'slot_id', t.id,
                              'doctor_id', t.doctor_id, 'hospital_id', t.hospital_id,
                              'token_number', booking.token_number)
    FROM booking CROSS JOIN target t
)
SELECT t.id, t.hospital_id, t.doctor_id, t.start, t."end", t.status, t.booked, t.capacity, t.hold_count,
       t.opd_status, t.timezone, t.is_available, t.specialization, t.department, t.user_id, t.fullname,
       t.holds, booking.id, booking.token_number, seat.booked
FROM target t LEFT JOIN booking ON true LEFT JOIN seat ON true
"""


# The answer of BOOK_SQL, in its final SELECT's order (read by services/statement_rows.py); a booked
# slot had no holds (`hold_count = 0`), so it keeps none.
BookRow = namedtuple(
    "BookRow",
    "slot_id hospital_id doctor_id start end status booked capacity hold_count opd_status timezone is_available"
    " specialization department doctor_user_id doctor_name booked_here appointment_id token now_booked now_held",
    defaults=(0,),
)


def _book_in_one_statement(
    *, by: User, patient: User, slot_id: int, hospital_id: int | None, reason: str
) -> Appointment | None:
    """Book with `BOOK_SQL`. None when the slot changed under the statement (the locking path decides)."""
    now = timezone.now()
    params = statement_params(
        by,
        now,
        patient=patient.pk,
        slot=slot_id,
        scope=hospital_scope(by),
        hospital=hospital_id,
        reason=reason,
    )
    # The same patient's concurrent booking of this slot may commit first.
    row = run_statement(BOOK_SQL, params, constraint_refusals={ONE_ACTIVE_CONSTRAINT: ALREADY_BOOKED_REFUSAL})
    if row is None:
        raise NotFound("No such slot.")
    row = BookRow(*row)
    if row.appointment_id is None:
        if row.hold_count:
            # Holds keep seats (some may have lapsed): settled and counted under the row lock.
            return None
        # Explained from the slot as the statement saw it.
        refuse(by=by, slot=seen_slot(row), hospital_id=hospital_id, holds=row.booked_here)
        return None
    # The statement wrote the slot's feed event in SQL: emit() did not run to invalidate its pages.
    writes_committed(topics=[slots_topic(row.hospital_id)])
    return booked_from_row(row, by=by, patient=patient, now=now, reason=reason)


@transaction.atomic
def _book_locking(*, by: User, patient: User, slot_id: int, hospital_id: int | None, reason: str) -> Appointment:
    """Book under the slot's row lock: the capacity check and the increment are one step."""
    try:
        # The doctor's user comes along for the response (no query after the commit).
        slot = locked_slots().select_related("doctor__user").get(pk=slot_id, hospital__is_active=True)
    except Slot.DoesNotExist:
        raise NotFound("No such slot.")
    settle_lapsed_holds(slot)
    refuse(by=by, slot=slot, hospital_id=hospital_id, holds=has_active_booking(patient_id=patient.pk, slot=slot))
    appointment = Appointment.objects.create(
        patient=patient,
        slot=slot,
        doctor=slot.doctor,
        hospital=slot.hospital,
        token_number=take_seat(slot),
        reason=reason,
        booked_by=by,
    )
    appointment_changed(appointment, what="booked", slot_ids=[slot.pk])
    record_row(Action.CREATE, by=by, object_type="appointment", row=appointment)
    return appointment


def appointment_book(
    *, by: User, slot_id: int, patient_id: int | None = None, hospital_id: int | None = None, reason: str = ""
) -> Appointment:
    """Book a seat; 404 unknown slot, 403/400/409 as `refuse` and the one-booking rule say.

    The appointment comes back with its patient, slot, doctor (and user) and hospital loaded.
    """
    patient = patient_for(by=by, patient_id=patient_id)
    booking = {
        "by": by,
        "patient": patient,
        "slot_id": slot_id,
        "hospital_id": hospital_id,
        "reason": reason,
    }
    if connection.vendor in ONE_STATEMENT_VENDORS:
        appointment = _book_in_one_statement(**booking)
        if appointment is not None:
            return appointment
    return _book_locking(**booking)


def _offer_freed_seats(*, slot_id: int) -> None:
    """A seat freed here goes to the slot's waitlist in this transaction (services/waitlist.py, which
    builds on this module: imported when called)."""
    from appointments.services.waitlist import offer_freed_seats

    offer_freed_seats(slot_id=slot_id)


def _release_seat(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id).update(booked=F("booked") - 1)


def _locked_appointment(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update(of=("self",)).select_related("slot").get(pk=appointment.pk)


def appointment_cancel(*, by: User, appointment: Appointment, reason: str = "") -> Appointment:
    """Cancel a booked appointment before its slot starts and give the seat back."""
    return appointment_transition(by=by, appointment=appointment, status=Status.CANCELLED, reason=reason)


@transaction.atomic
def appointment_transition(*, by: User, appointment: Appointment, status: str, reason: str = "") -> Appointment:
    """check-in, cancel, complete, no-show: the moves `Appointment.transition_refusal` allows. A cancel
    keeps its reason and gives the seat back."""
    appointment = _locked_appointment(appointment)
    Conflict.raise_for(appointment.transition_refusal(status))
    appointment.status = status
    fields = ["status", "updated_at"]
    if status == Status.CANCELLED:
        appointment.cancel_reason = reason
        fields.append("cancel_reason")
        _release_seat(appointment.slot_id)
    appointment.save(update_fields=fields)
    freed = [appointment.slot_id] if status == Status.CANCELLED else []
    appointment_changed(appointment, what=status, slot_ids=freed)
    if freed:
        _offer_freed_seats(slot_id=appointment.slot_id)
    record_row(
        Action.ACTION,
        by=by,
        object_type="appointment",
        row=appointment,
        detail={"action": "cancel" if status == Status.CANCELLED else status},
    )
    # The OPD queue (section 17): a checked-in patient joins with its token; a no-show leaves, a
    # completed appointment is done.
    if status == Status.CHECKED_IN:
        queue_join_checked_in(by=by, appointment=appointment)
    else:
        queue_settle_for_appointment(by=by, appointment=appointment)
    return appointment


def _reschedule(*, by: User, appointment: Appointment, slot_id: int) -> None:
    Conflict.raise_for(appointment.reschedule_refusal())
    target = Slot.objects.filter(pk=slot_id, hospital__is_active=True).values_list("hospital_id", flat=True).first()
    if target is None:
        raise NotFound("No such slot.")
    if by.pk != appointment.patient_id and not manages_hospital(by, target):
        raise PermissionDenied("A hospital admin moves appointments within its own hospital only.")
    # Both slot rows, in primary-key order: two reschedules crossing the same pair cannot deadlock.
    locked = {slot.pk: slot for slot in locked_slots().filter(pk__in=[appointment.slot_id, slot_id]).order_by("pk")}
    new_slot = locked[slot_id]
    settle_lapsed_holds(new_slot)
    check_open(new_slot, holds=has_active_booking(patient_id=appointment.patient_id, slot=new_slot))
    _release_seat(appointment.slot_id)
    appointment.token_number = take_seat(new_slot)
    appointment.slot, appointment.doctor_id, appointment.hospital_id = (
        new_slot,
        new_slot.doctor_id,
        new_slot.hospital_id,
    )


@transaction.atomic
def appointment_update(*, by: User, appointment: Appointment, data: dict) -> Appointment:
    """Change the reason, or move to another slot (new seat taken, old one released, in one transaction)."""
    appointment = _locked_appointment(appointment)
    old_slot_id = appointment.slot_id
    fields = []
    slot_id = data.get("slot_id")
    if slot_id is not None and slot_id != appointment.slot_id:
        _reschedule(by=by, appointment=appointment, slot_id=slot_id)
        fields += ["slot", "doctor", "hospital", "token_number"]
    if "reason" in data and data["reason"] != appointment.reason:
        Conflict.raise_for(appointment.change_refusal())
        appointment.reason = data["reason"]
        fields.append("reason")
    if fields:
        appointment.save(update_fields=[*fields, "updated_at"])
        moved = [old_slot_id, appointment.slot_id] if "slot" in fields else []
        appointment_changed(appointment, what="rescheduled" if moved else "updated", slot_ids=moved)
        if moved:
            _offer_freed_seats(slot_id=old_slot_id)
        record_row(Action.UPDATE, by=by, object_type="appointment", row=appointment, detail={"fields": fields})
    return appointment
