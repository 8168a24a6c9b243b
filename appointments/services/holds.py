"""Holds (API.md section 17): a seat kept for minutes while the patient confirms; booking from a hold;
release.

Every hold write takes the slot's row lock first (then the hold's row), settles the slot's lapsed holds
(services/seats.py) and only then reads `booked + hold_count`: the same lock and the same counters the
booking paths use, so holds and bookings together never take more seats than the slot has. The CHECK
(booked + hold_count <= capacity) and the partial unique index (one active hold per patient and slot)
back the rules up.

`hold_place` is the step a caller already holding the slot's row lock uses: the waitlist offers a
freed seat as a hold with it, in the transaction that freed the seat.
"""

from collections import namedtuple
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.activity import Action, record_row
from accounts.models import User
from appointments.models import (
    ALREADY_HELD,
    ALREADY_HELD_MESSAGE,
    Appointment,
    Hold,
    Slot,
)
from appointments.services import bookings
from appointments.services.booking_rules import (
    check_open,
    check_scope,
    has_active_booking,
    hospital_scope,
    locked_slots,
    may_act_for,
    patient_for,
)
from appointments.services.hold_statements import HOLD_BOOK_SQL, HOLD_SQL
from appointments.services.seats import release_hold_seat, settle_lapsed_holds
from appointments.services.statement_rows import (
    booked_from_row,
    loaded,
    run_statement,
    seen_slot,
    statement_params,
)
from appointments.topics import appointment_changed, holds_changed, slots_changed, slots_topic
from feed.topics import cached_topics, user_topic
from hms.api.exceptions import Conflict
from hms.api.readcache import writes_committed
from hms.api.roles import Role

ONE_ACTIVE_HOLD_CONSTRAINT = "hold_one_active_per_patient_slot"


def _locked_slot(slot_id: int) -> Slot:
    try:
        # The doctor's user comes along for an appointment's response (no query after the commit).
        return locked_slots().select_related("doctor__user").get(pk=slot_id, hospital__is_active=True)
    except Slot.DoesNotExist:
        raise NotFound("No such slot.") from None


def hold_place(*, by: User | None, slot: Slot, patient: User, minutes: int, now=None) -> Hold:
    """Keep a seat of `slot` for `patient` for `minutes`. The caller holds the slot's row lock (and has
    checked who may ask); refusals: the patient's active hold (409 already_held) or booking
    (already_booked), and `booking_refusal`'s (started 400, closed, full, ...)."""
    now = now or timezone.now()
    settle_lapsed_holds(slot, now=now)
    if Hold.objects.filter(slot_id=slot.pk, patient_id=patient.pk, status=Hold.Status.ACTIVE).exists():
        raise Conflict(ALREADY_HELD_MESSAGE, code=ALREADY_HELD)
    check_open(slot, holds=has_active_booking(patient_id=patient.pk, slot=slot))
    Slot.objects.filter(pk=slot.pk).update(hold_count=F("hold_count") + 1)
    slot.hold_count += 1
    slot.held = slot.hold_count
    # The partial unique index (one active hold per patient and slot) is the backstop: its violation
    # is a 409 already_held (hms.api.exceptions.CONSTRAINT_CODES).
    hold = Hold.objects.create(
        slot=slot,
        patient=patient,
        hospital_id=slot.hospital_id,
        expires_at=now + timedelta(minutes=minutes),
        held_by=by,
    )
    slots_changed([slot])
    holds_changed([hold])
    record_row(Action.CREATE, by=by, object_type="hold", row=hold, detail={"slot_id": slot.pk})
    return hold


def _one_statement() -> bool:
    """Holds take the one-statement paths where bookings do (bookings.ONE_STATEMENT_VENDORS, which the
    tests' `booking_path` fixture switches off to run the locking paths)."""
    return connection.vendor in bookings.ONE_STATEMENT_VENDORS


# A concurrent hold or booking of the same patient and slot may commit first.
_CONSTRAINT_REFUSALS = {
    ONE_ACTIVE_HOLD_CONSTRAINT: (ALREADY_HELD_MESSAGE, ALREADY_HELD),
    bookings.ONE_ACTIVE_CONSTRAINT: bookings.ALREADY_BOOKED_REFUSAL,
}

# The answers of HOLD_SQL and HOLD_BOOK_SQL, in their final SELECTs' order (services/statement_rows.py).
HoldRow = namedtuple(
    "HoldRow",
    "slot_id hospital_id doctor_id start status booked capacity hold_count opd_status is_available booked_here"
    " held_here lapsed hold_id",
)
HoldBookRow = namedtuple(
    "HoldBookRow",
    "hold_id slot_id patient_id hold_hospital_id hold_status expires_at hospital_id doctor_id start end status"
    " booked capacity hold_count hospital_active opd_status timezone is_available specialization department"
    " doctor_user_id doctor_name patient_name patient_phone booked_here lapsed offered appointment_id token"
    " now_booked now_held",
)


def _written(*, hospital_id: int, patient_id: int) -> None:
    """The statement wrote rows and events in SQL: the cached reads that record(), emit() and the saves
    of the hold and appointment would have marked changed."""
    slots = slots_topic(hospital_id)
    writes_committed(topics=sorted({slots, *cached_topics(sorted({slots, user_topic(patient_id)}))}))


def _hold_in_one_statement(*, by: User, patient: User, slot_id: int, minutes: int) -> Hold | None:
    """Hold with `HOLD_SQL`. None when the locking path decides (lapsed holds to settle, or the slot
    changed under the statement)."""
    now = timezone.now()
    expires = now + timedelta(minutes=minutes)
    params = statement_params(
        by,
        now,
        slot=slot_id,
        patient=patient.pk,
        expires=expires,
        expires_json=DjangoJSONEncoder().default(expires),
        scope=hospital_scope(by),
    )
    row = run_statement(HOLD_SQL, params, constraint_refusals=_CONSTRAINT_REFUSALS)
    if row is None:
        raise NotFound("No such slot.")
    row = HoldRow(*row)
    if row.hold_id is None:
        # Explained from the slot as the statement saw it, in `hold_create`'s order.
        seen = seen_slot(row)
        check_scope(by=by, slot=seen)
        if row.lapsed:
            return None
        if row.held_here:
            raise Conflict(ALREADY_HELD_MESSAGE, code=ALREADY_HELD)
        check_open(seen, holds=row.booked_here)
        return None
    _written(hospital_id=row.hospital_id, patient_id=patient.pk)
    return loaded(
        Hold,
        {"patient": patient, "appointment": None, "held_by": by},
        id=row.hold_id,
        slot_id=row.slot_id,
        patient_id=patient.pk,
        hospital_id=row.hospital_id,
        status=Hold.Status.ACTIVE,
        expires_at=expires,
        appointment_id=None,
        held_by_id=by.pk,
        created_at=now,
        updated_at=now,
    )


def hold_create(*, by: User, slot_id: int, patient_id: int | None = None) -> Hold:
    """Hold a seat for `HOLD_MINUTES`: a patient (or donor) for themselves; admin, or a hospital admin or
    doctor of the slot's hospital, for a patient (`patient_id`). 404 unknown slot; 403 another
    hospital's slot; refusals as `hold_place`. On PostgreSQL one statement (services/hold_statements.py)
    unless lapsed holds are to be settled or the slot changed under it; then the locking path."""
    patient = patient_for(by=by, patient_id=patient_id)
    if _one_statement():
        hold = _hold_in_one_statement(by=by, patient=patient, slot_id=slot_id, minutes=settings.HOLD_MINUTES)
        if hold is not None:
            return hold
    return _hold_create_locking(by=by, patient=patient, slot_id=slot_id)


@transaction.atomic
def _hold_create_locking(*, by: User, patient: User, slot_id: int) -> Hold:
    slot = _locked_slot(slot_id)
    check_scope(by=by, slot=slot)
    return hold_place(by=by, slot=slot, patient=patient, minutes=settings.HOLD_MINUTES)


def _may_act_for(by: User, hold: Hold) -> bool:
    """The hold's patient; admin; a hospital admin or doctor of the hold's hospital."""
    return may_act_for(by, patient_id=hold.patient_id, hospital_id=hold.hospital_id)


def _locked_hold(hold_id: int) -> tuple[Hold, Slot]:
    """The hold's slot locked (settled), then the hold re-read: the lock order of every hold write."""
    slot_id = Hold.objects.filter(pk=hold_id).values_list("slot_id", flat=True).first()
    if slot_id is None:
        raise NotFound("No such hold.")
    slot = _locked_slot(slot_id)
    settle_lapsed_holds(slot)
    return Hold.objects.select_for_update(of=("self",)).get(pk=hold_id), slot


@transaction.atomic
def hold_release(*, by: User, hold: Hold) -> Hold:
    """Give an active hold's seat back (the patient, or staff who may book for them); a used, released
    or expired hold -> 409 with its code."""
    if not _may_act_for(by, hold):
        raise PermissionDenied("Only the patient or staff of the slot's hospital may release this hold.")
    hold, slot = _locked_hold(hold.pk)
    Conflict.raise_for(hold.use_refusal())
    release_hold_seat(hold, slot)
    slots_changed([slot])
    holds_changed([hold])
    record_row(Action.ACTION, by=by, object_type="hold", row=hold, detail={"action": "release"})
    # A released offer is declined; the seat goes to the next waiting entry (imported here: the
    # waitlist builds on this module).
    from appointments.services.waitlist import hold_released

    hold_released(hold, slot)
    return hold


def _check_matches(hold: Hold, *, slot_id: int | None, patient_id: int | None, hospital_id: int | None) -> None:
    """Ids given beside `hold_id` must be the hold's own (400 naming the field)."""
    if slot_id is not None and slot_id != hold.slot_id:
        raise ValidationError({"slot_id": ["This hold is for another slot."]}, code="hold_mismatch")
    if patient_id is not None and patient_id != hold.patient_id:
        raise ValidationError({"patient_id": ["This hold is for another patient."]}, code="patient_mismatch")
    if hospital_id is not None and hospital_id != hold.hospital_id:
        raise ValidationError({"hospital_id": ["This slot belongs to another hospital."]}, code="hospital_mismatch")


def _hold_book_in_one_statement(
    *, by: User, hold_id: int, reason: str, slot_id: int | None, patient_id: int | None, hospital_id: int | None
) -> Appointment | None:
    """Book from a hold with `HOLD_BOOK_SQL`. None when the locking path decides (lapsed holds to
    settle, a waitlist offer's hold, or the slot or hold changed under the statement)."""
    now = timezone.now()
    scope = hospital_scope(by)
    params = statement_params(
        by,
        now,
        hold=hold_id,
        reason=reason,
        admin=scope is None and by.role == Role.ADMIN,
        scope=scope,
        slot_id=slot_id,
        patient_id=patient_id,
        hospital_id=hospital_id,
    )
    row = run_statement(HOLD_BOOK_SQL, params, constraint_refusals=_CONSTRAINT_REFUSALS)
    if row is None:
        raise NotFound("No such hold.")
    row = HoldBookRow(*row)
    if row.appointment_id is None:
        # Explained from the hold and slot as the statement saw them, in the locking path's order.
        hold = Hold(id=row.hold_id, slot_id=row.slot_id, patient_id=row.patient_id,
                    hospital_id=row.hold_hospital_id, status=row.hold_status, expires_at=row.expires_at)  # fmt: skip
        if not _may_act_for(by, hold):
            raise NotFound("No such hold.")
        _check_matches(hold, slot_id=slot_id, patient_id=patient_id, hospital_id=hospital_id)
        if not row.hospital_active:
            raise NotFound("No such slot.")
        Conflict.raise_for(hold.use_refusal(now))
        check_open(seen_slot(row), holds=row.booked_here, seat_held=True)
        return None
    _written(hospital_id=row.hospital_id, patient_id=row.patient_id)
    if by.pk == row.patient_id:
        patient = by
    else:
        patient = User(id=row.patient_id, fullname=row.patient_name, phone_num=row.patient_phone)
    return booked_from_row(row, by=by, patient=patient, now=now, reason=reason)


def hold_book(
    *,
    by: User,
    hold_id: int,
    reason: str = "",
    slot_id: int | None = None,
    patient_id: int | None = None,
    hospital_id: int | None = None,
) -> Appointment:
    """Book the seat an active hold keeps: the hold becomes `used` (with the appointment) and its seat
    moves from `hold_count` to `booked` in one transaction; no free seat is needed. The hold's patient,
    or staff who may book for them; a hold the caller may not see -> 404; expired, used or released
    -> 409 with its code; the slot closed, OPD closed, doctor unavailable since -> 409 as booking.
    On PostgreSQL one statement (services/hold_statements.py) unless the locking path must decide."""
    booking = {"slot_id": slot_id, "patient_id": patient_id, "hospital_id": hospital_id}
    if _one_statement():
        appointment = _hold_book_in_one_statement(by=by, hold_id=hold_id, reason=reason, **booking)
        if appointment is not None:
            return appointment
    return _hold_book_locking(by=by, hold_id=hold_id, reason=reason, **booking)


@transaction.atomic
def _hold_book_locking(
    *, by: User, hold_id: int, reason: str, slot_id: int | None, patient_id: int | None, hospital_id: int | None
) -> Appointment:
    hold = Hold.objects.filter(pk=hold_id).first()
    if hold is None or not _may_act_for(by, hold):
        raise NotFound("No such hold.")
    _check_matches(hold, slot_id=slot_id, patient_id=patient_id, hospital_id=hospital_id)
    hold, slot = _locked_hold(hold.pk)
    Conflict.raise_for(hold.use_refusal())
    check_open(slot, holds=has_active_booking(patient_id=hold.patient_id, slot=slot), seat_held=True)
    Slot.objects.filter(pk=slot.pk).update(
        booked=F("booked") + 1, hold_count=F("hold_count") - 1, last_token=F("last_token") + 1
    )
    appointment = Appointment.objects.create(
        patient=hold.patient,
        slot=slot,
        doctor=slot.doctor,
        hospital=slot.hospital,
        token_number=slot.last_token + 1,
        reason=reason,
        booked_by=by,
    )
    hold.status, hold.appointment = Hold.Status.USED, appointment
    hold.save(update_fields=["status", "appointment", "updated_at"])
    from appointments.services.waitlist import hold_used  # the waitlist builds on this module

    hold_used(hold)
    appointment_changed(appointment, what="booked", slot_ids=[slot.pk])
    holds_changed([hold])
    record_row(Action.CREATE, by=by, object_type="appointment", row=appointment, detail={"hold_id": hold.pk})
    record_row(
        Action.ACTION, by=by, object_type="hold", row=hold, detail={"action": "use", "appointment_id": appointment.pk}
    )
    return appointment
