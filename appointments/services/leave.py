"""Doctor leave (API.md section 17): a leave closes the doctor's future slots that overlap it; active
bookings inside refuse it (409 leave_has_bookings, listing them) unless `cancel_bookings`, which
cancels each through the cancel service ("doctor unavailable"); deleting a leave before it starts
reopens the slots it closed. Slot generation skips leave (`leave_spans`).

Lock order: the doctor row (serialises a doctor's leaves and slot generation), the bookings already
inside, then the slot rows in primary-key order (the appointment-then-slot order of cancelling). With
the slot rows locked, no booking or hold can land in them: a booking that was waiting for a row sees it
closed once the leave commits (the one-statement booking's UPDATE re-checks `status = 'open'` on the
row it then reads; the locking path reads it after the lock). A booking that committed before the
rows were locked is found by the second look at the bookings, so it is listed or cancelled.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.activity import Action, record
from accounts.models import User
from appointments.models import Appointment, Doctor, Hold, Slot
from appointments.permissions import manages_doctor
from appointments.services.bookings import appointment_cancel
from appointments.services.seats import settle_lapsed_holds
from appointments.services.waitlist import entries_changed, offer_freed_seats
from appointments.topics import holds_changed, slots_changed
from appointments.waitlist_models import (
    DOCTOR_ON_LEAVE,
    LEAVE_HAS_BOOKINGS,
    LEAVE_OVERLAPS,
    LEAVE_STARTED,
    DoctorLeave,
    WaitlistEntry,
)
from hms.api.exceptions import Conflict

CANCEL_REASON = "doctor unavailable"
MAX_LEAVE_DAYS = 366


class LeaveHasBookings(Conflict):
    """409 leave_has_bookings, with the bookings that stand in the way (the view lists them)."""

    def __init__(self, bookings: list[dict]):
        super().__init__(
            f"{len(bookings)} active booking(s) fall inside this leave: cancel them, or send "
            "`cancel_bookings: true` to cancel them with the leave.",
            code=LEAVE_HAS_BOOKINGS,
        )
        self.bookings = bookings


def overlapping(start: datetime, end: datetime) -> Q:
    """Slots that overlap [start, end): the doctor is away for at least part of them."""
    return Q(start__lt=end, end__gt=start)


def leaves_overlapping(doctor_id: int, start: datetime, end: datetime):
    """The doctor's leaves (not deleted) that overlap [start, end)."""
    return DoctorLeave.objects.filter(doctor_id=doctor_id, deleted_at__isnull=True, start__lt=end, end__gt=start)


def leave_spans(doctor_id: int, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """The doctor's leaves overlapping [first, last], as (start, end) pairs, for slot generation."""
    return list(leaves_overlapping(doctor_id, first, last).order_by("start").values_list("start", "end"))


def lock_doctor(doctor_id: int) -> None:
    """The doctor's row: what serialises a doctor's leaves against slots being generated, added or
    reopened (taken before any slot row, the order leave_create locks in)."""
    Doctor.objects.select_for_update(of=("self",), no_key=True).filter(pk=doctor_id).first()


def check_not_on_leave(doctor_id: int, start: datetime, end: datetime) -> None:
    """409 doctor_on_leave when an open slot [start, end) would overlap the doctor's leave. The caller
    holds the doctor's row lock (`lock_doctor`), so a leave being recorded meanwhile either committed
    before this look or waits and closes the slot."""
    leave = leaves_overlapping(doctor_id, start, end).order_by("start").first()
    if leave is not None:
        raise Conflict(
            f"The doctor is on leave from {leave.start.isoformat()} to {leave.end.isoformat()}: "
            "an open slot cannot fall inside it.",
            code=DOCTOR_ON_LEAVE,
        )


def on_leave(spans, start: datetime, end: datetime) -> bool:
    return any(leave_start < end and leave_end > start for leave_start, leave_end in spans)


def _booking_row(appointment: Appointment) -> dict:
    return {
        "appointment_id": appointment.pk,
        "slot_id": appointment.slot_id,
        "start": appointment.slot.start,
        "patient_id": appointment.patient_id,
        "patient": appointment.patient.fullname,
        "status": appointment.status,
    }


def _release_holds(slots: list[Slot]) -> None:
    """Closing slots gives their active holds' seats back; offers on them go back to waiting (their
    place in line kept: FIFO is by entry id)."""
    slot_ids = [slot.pk for slot in slots]
    active = list(Hold.objects.filter(slot_id__in=slot_ids, status=Hold.Status.ACTIVE).order_by("pk"))
    if not active:
        return
    Hold.objects.filter(pk__in=[hold.pk for hold in active]).update(
        status=Hold.Status.RELEASED, updated_at=timezone.now()
    )
    for slot in slots:
        count = sum(1 for hold in active if hold.slot_id == slot.pk)
        if count:
            Slot.objects.filter(pk=slot.pk).update(hold_count=F("hold_count") - count)
    for hold in active:
        hold.status = Hold.Status.RELEASED
    holds_changed(active)
    offers = list(
        WaitlistEntry.objects.select_for_update(of=("self",)).filter(
            hold_id__in=[hold.pk for hold in active], status=WaitlistEntry.Status.OFFERED
        )
    )
    for entry in offers:
        entry.status, entry.hold = WaitlistEntry.Status.WAITING, None
        entry.save(update_fields=["status", "hold", "updated_at"])
    entries_changed(offers)


@transaction.atomic
def leave_create(
    *, by: User, doctor: Doctor, start: datetime, end: datetime, reason: str = "", cancel_bookings: bool = False
) -> tuple[DoctorLeave, list[int]]:
    """Record a leave and close the doctor's future slots overlapping it. Returns the leave and the ids
    of the appointments it cancelled."""
    if not manages_doctor(by, doctor):
        raise PermissionDenied("Only an administrator, the hospital's admin or the doctor itself records leave.")
    now = timezone.now()
    if end <= start:
        raise ValidationError({"end": ["A leave ends after it starts."]}, code="invalid")
    if end <= now:
        raise ValidationError({"end": ["A leave must end in the future."]}, code="invalid")
    if end - start > timedelta(days=MAX_LEAVE_DAYS):
        raise ValidationError({"end": [f"A leave lasts at most {MAX_LEAVE_DAYS} days."]}, code="invalid")
    doctor = Doctor.objects.select_for_update(of=("self",), no_key=True).select_related("hospital").get(pk=doctor.pk)
    if leaves_overlapping(doctor.pk, start, end).exists():
        raise Conflict("This doctor already has leave overlapping that time.", code=LEAVE_OVERLAPS)
    inside = Q(doctor=doctor, start__gt=now) & overlapping(start, end)
    bookings = Appointment.objects.filter(slot__in=Slot.objects.filter(inside), status__in=Appointment.ACTIVE)
    # The bookings already there first (cancelling locks an appointment before its slot), then the slots.
    list(bookings.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
    slots = list(Slot.objects.select_for_update(of=("self",)).filter(inside).order_by("pk"))
    slot_ids = [slot.pk for slot in slots]
    # A second look, with the slots locked: bookings that landed meanwhile are here too.
    standing = list(
        Appointment.objects.filter(slot_id__in=slot_ids, status__in=Appointment.ACTIVE)
        .select_related("slot", "patient")
        .order_by("slot__start", "pk")
    )
    if standing and not cancel_bookings:
        raise LeaveHasBookings([_booking_row(appointment) for appointment in standing])
    leave = DoctorLeave.objects.create(
        doctor=doctor, hospital_id=doctor.hospital_id, start=start, end=end, reason=reason, created_by=by
    )
    closing = [slot for slot in slots if slot.status == Slot.Status.OPEN]
    if closing:
        Slot.objects.filter(pk__in=[slot.pk for slot in closing]).update(status=Slot.Status.CLOSED, updated_at=now)
        leave.closed_slots.set(closing)
        for slot in closing:
            settle_lapsed_holds(slot, now=now)
        _release_holds(closing)
    cancelled = []
    for appointment in standing:
        appointment_cancel(by=by, appointment=appointment, reason=CANCEL_REASON)
        cancelled.append(appointment.pk)
    if closing:
        slots_changed(Slot.objects.filter(pk__in=[slot.pk for slot in closing]).with_held(now).order_by("pk"))
    record(
        action=Action.CREATE,
        actor=by,
        object_type="doctor_leave",
        object_id=leave.pk,
        detail={
            "doctor_id": doctor.pk,
            "closed_slots": [slot.pk for slot in closing],
            "cancelled_appointments": cancelled,
        },
    )
    return leave, cancelled


@transaction.atomic
def leave_delete(*, by: User, leave: DoctorLeave) -> DoctorLeave:
    """Delete a leave that has not started (409 leave_started otherwise): the slots it closed reopen
    (those still closed and ahead), and their seats go to the waitlist. The record is kept."""
    if not manages_doctor(by, leave.doctor):
        raise PermissionDenied("Only an administrator, the hospital's admin or the doctor itself removes leave.")
    lock_doctor(leave.doctor_id)
    leave = DoctorLeave.objects.select_for_update(of=("self",)).filter(pk=leave.pk, deleted_at__isnull=True).first()
    if leave is None:
        raise NotFound("No such leave.")
    now = timezone.now()
    if leave.start <= now:
        raise Conflict("This leave has started; only a leave still ahead can be deleted.", code=LEAVE_STARTED)
    reopening = list(
        Slot.objects.select_for_update(of=("self",))
        .filter(closing_leaves=leave, status=Slot.Status.CLOSED, start__gt=now)
        .order_by("pk")
    )
    # A slot that straddles this leave and an adjacent one stays closed: an open slot never falls in leave.
    others = list(
        leaves_overlapping(leave.doctor_id, leave.start - timedelta(days=1), leave.end + timedelta(days=1))
        .exclude(pk=leave.pk)
        .values_list("start", "end")
    )
    reopening = [slot for slot in reopening if not on_leave(others, slot.start, slot.end)]
    if reopening:
        Slot.objects.filter(pk__in=[slot.pk for slot in reopening]).update(status=Slot.Status.OPEN, updated_at=now)
    leave.deleted_at, leave.deleted_by = now, by
    leave.save(update_fields=["deleted_at", "deleted_by"])
    if reopening:
        slots_changed(Slot.objects.filter(pk__in=[slot.pk for slot in reopening]).with_held(now).order_by("pk"))
    for slot in reopening:
        offer_freed_seats(slot_id=slot.pk, now=now)
    record(
        action=Action.DELETE,
        actor=by,
        object_type="doctor_leave",
        object_id=leave.pk,
        detail={"reopened_slots": [slot.pk for slot in reopening]},
    )
    return leave
