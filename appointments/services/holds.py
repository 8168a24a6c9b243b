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

from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.activity import Action, entry_fields, record
from accounts.models import User
from appointments.models import (
    ALREADY_BOOKED,
    ALREADY_BOOKED_MESSAGE,
    ALREADY_HELD,
    ALREADY_HELD_MESSAGE,
    Appointment,
    Hold,
    Slot,
)
from appointments.services import bookings
from appointments.services.audit import record_patient_row
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
from appointments.topics import appointment_changed, holds_changed, slots_changed, slots_topic
from feed.topics import cached_topics, user_topic
from hms.api.db import prepared_cursor
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
    record_patient_row(Action.CREATE, by=by, object_type="hold", row=hold, detail={"slot_id": slot.pk})
    return hold


def _one_statement() -> bool:
    """Holds take the one-statement paths where bookings do (bookings.ONE_STATEMENT_VENDORS, which the
    tests' `booking_path` fixture switches off to run the locking paths)."""
    return connection.vendor in bookings.ONE_STATEMENT_VENDORS


def _run(sql: str, params: dict):
    """Run one of the hold statements: the row it answers, or None. Outside a transaction the statement
    is its own; inside one, a savepoint keeps a refused statement from aborting the caller's."""
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext(), prepared_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except IntegrityError as error:
        # The same patient's concurrent hold or booking of this slot committed first.
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint == ONE_ACTIVE_HOLD_CONSTRAINT:
            raise Conflict(ALREADY_HELD_MESSAGE, code=ALREADY_HELD) from None
        if constraint == bookings.ONE_ACTIVE_CONSTRAINT:
            raise Conflict(ALREADY_BOOKED_MESSAGE, code=ALREADY_BOOKED) from None
        raise


def _statement_params(by: User, now, **values) -> dict:
    who = entry_fields(actor=by)
    return {
        "now": now,
        "by": by.pk,
        **{name: who[name] for name in ("actor_role", "actor_name", "ip", "request_id")},
        **values,
    }


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
    params = _statement_params(
        by,
        now,
        slot=slot_id,
        patient=patient.pk,
        expires=expires,
        expires_json=DjangoJSONEncoder().default(expires),
        scope=hospital_scope(by),
    )
    row = _run(HOLD_SQL, params)
    if row is None:
        raise NotFound("No such slot.")
    (pk, hospital_id, _doctor_id, start, status, booked, capacity, hold_count, opd_status, is_available,
     booked_here, held_here, lapsed, hold_id) = row  # fmt: skip
    if hold_id is None:
        # Explained from the slot as the statement saw it, in `hold_create`'s order.
        seen = bookings.seen_slot(pk=pk, hospital_id=hospital_id, start=start, status=status, booked=booked,
                                  held=hold_count, capacity=capacity, opd_status=opd_status,
                                  is_available=is_available)  # fmt: skip
        check_scope(by=by, slot=seen)
        if lapsed:
            return None
        if held_here:
            raise Conflict(ALREADY_HELD_MESSAGE, code=ALREADY_HELD)
        check_open(seen, holds=booked_here)
        return None
    _written(hospital_id=hospital_id, patient_id=patient.pk)
    return Hold(
        id=hold_id,
        slot_id=pk,
        patient=patient,
        hospital_id=hospital_id,
        status=Hold.Status.ACTIVE,
        expires_at=expires,
        appointment=None,
        held_by=by,
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
    record_patient_row(Action.ACTION, by=by, object_type="hold", row=hold, detail={"action": "release"})
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
    params = _statement_params(
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
    row = _run(HOLD_BOOK_SQL, params)
    if row is None:
        raise NotFound("No such hold.")
    (pk, slot_pk, patient_pk, hold_hospital_id, hold_status, expires_at, hospital_pk, doctor_pk, start, end, status,
     booked, capacity, hold_count, hospital_active, opd_status, tz, is_available, specialization, department,
     doctor_user_id, doctor_name, patient_name, patient_phone, booked_here, _lapsed, _offered,
     appointment_id, token, now_booked, now_held) = row  # fmt: skip
    if appointment_id is None:
        # Explained from the hold and slot as the statement saw them, in the locking path's order.
        hold = Hold(id=pk, slot_id=slot_pk, patient_id=patient_pk, hospital_id=hold_hospital_id, status=hold_status,
                    expires_at=expires_at)  # fmt: skip
        if not _may_act_for(by, hold):
            raise NotFound("No such hold.")
        _check_matches(hold, slot_id=slot_id, patient_id=patient_id, hospital_id=hospital_id)
        if not hospital_active:
            raise NotFound("No such slot.")
        Conflict.raise_for(hold.use_refusal(now))
        seen = bookings.seen_slot(pk=slot_pk, hospital_id=hospital_pk, start=start, status=status, booked=booked,
                                  held=hold_count, capacity=capacity, opd_status=opd_status,
                                  is_available=is_available)  # fmt: skip
        check_open(seen, holds=booked_here, seat_held=True)
        return None
    _written(hospital_id=hospital_pk, patient_id=patient_pk)
    return bookings.booked_from_row(
        by=by,
        patient=by if by.pk == patient_pk else User(id=patient_pk, fullname=patient_name, phone_num=patient_phone),
        now=now,
        reason=reason,
        appointment_id=appointment_id,
        token=token,
        hospital={"id": hospital_pk, "opd_status": opd_status, "timezone": tz},
        doctor={"id": doctor_pk, "specialization": specialization, "department": department,
                "is_available": is_available},
        doctor_user=User(id=doctor_user_id, fullname=doctor_name),
        slot={"id": slot_pk, "start": start, "end": end, "status": status, "booked": now_booked, "capacity": capacity,
              "hold_count": now_held},
    )  # fmt: skip


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
    record(
        action=Action.CREATE,
        actor=by,
        object_type="appointment",
        object_id=appointment.pk,
        patient_id=hold.patient_id,
        detail={"hold_id": hold.pk},
    )
    record_patient_row(
        Action.ACTION, by=by, object_type="hold", row=hold, detail={"action": "use", "appointment_id": appointment.pk}
    )
    return appointment
