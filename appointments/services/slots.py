from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record
from accounts.models import User
from appointments.models import MAX_DAYS_AHEAD, Appointment, Doctor, Slot
from appointments.permissions import manages_doctor
from appointments.services.leave import check_not_on_leave, lock_doctor
from appointments.services.seats import settle_lapsed_holds
from appointments.topics import slots_changed
from hms.api.exceptions import Conflict


@transaction.atomic
def slot_create(*, by: User, doctor: Doctor, start: datetime, end: datetime, capacity: int, status: str) -> Slot:
    """One slot by hand; a naive `start`/`end` is the hospital's local time. An open slot inside the
    doctor's leave -> 409 doctor_on_leave (the doctor's row locked, as leave and generation lock it)."""
    if not manages_doctor(by, doctor):
        raise PermissionDenied("Only an administrator, the hospital's admin or the doctor itself adds slots.")
    zone = ZoneInfo(doctor.hospital.timezone)
    if timezone.is_naive(start):
        start = start.replace(tzinfo=zone)
    if timezone.is_naive(end):
        end = end.replace(tzinfo=zone)
    now = timezone.now()
    if start <= now:
        raise ValidationError({"start": ["A slot cannot start in the past."]}, code="invalid")
    if start > now + timedelta(days=MAX_DAYS_AHEAD) or end > start + timedelta(days=1):
        attr = "start" if start > now + timedelta(days=MAX_DAYS_AHEAD) else "end"
        raise ValidationError(
            {attr: [f"Slots start within {MAX_DAYS_AHEAD} days and last at most a day."]}, code="invalid"
        )
    if end <= start:
        raise ValidationError({"end": ["A slot ends after it starts."]}, code="invalid")
    lock_doctor(doctor.pk)
    if status == Slot.Status.OPEN:
        check_not_on_leave(doctor.pk, start, end)
    if Slot.objects.filter(doctor=doctor, start=start).exists():
        raise Conflict("This doctor already has a slot starting at that time.", code="duplicate_slot")
    slot = Slot.objects.create(
        hospital_id=doctor.hospital_id,
        doctor=doctor,
        start=start,
        end=end,
        local_date=start.astimezone(zone).date(),
        capacity=capacity,
        status=status,
    )
    slots_changed([slot])
    record(action=Action.CREATE, actor=by, object_type="slot", object_id=slot.pk)
    return slot


@transaction.atomic
def slot_update(*, by: User, slot: Slot, capacity: int | None = None, status: str | None = None) -> Slot:
    """Capacity never below the seats taken (booked and held); a slot holding active bookings can close but
    not be cancelled.

    The slot row lock is the one bookings and holds take, so none slips in between the check and the write.
    Reopening a slot inside the doctor's leave -> 409 doctor_on_leave: the doctor's row is locked first
    (the order leave_create locks in), so a leave recorded meanwhile is seen or closes the slot after.
    """
    if status == Slot.Status.OPEN:
        lock_doctor(slot.doctor_id)
    slot = Slot.objects.select_for_update().get(pk=slot.pk)
    settle_lapsed_holds(slot)
    changed = []
    if capacity is not None and capacity != slot.capacity:
        if capacity < slot.booked + slot.hold_count:
            held = f" and {slot.hold_count} held" if slot.hold_count else ""
            raise Conflict(
                f"{slot.booked} seats are already booked{held}; capacity cannot go below that.",
                code="capacity_below_booked",
            )
        slot.capacity = capacity
        changed.append("capacity")
    if status is not None and status != slot.status:
        if (
            status == Slot.Status.CANCELLED
            and Appointment.objects.filter(slot=slot, status__in=Appointment.ACTIVE).exists()
        ):
            raise Conflict(
                "This slot has active bookings: close it, or cancel the appointments first.", code="slot_has_bookings"
            )
        if status == Slot.Status.OPEN:
            check_not_on_leave(slot.doctor_id, slot.start, slot.end)
        slot.status = status
        changed.append("status")
    if changed:
        slot.save(update_fields=[*changed, "updated_at"])
        slots_changed([slot])
        record(action=Action.UPDATE, actor=by, object_type="slot", object_id=slot.pk, detail={"fields": changed})
        if slot.status == Slot.Status.OPEN:
            # Capacity raised or the slot reopened: free seats go to its waitlist (imported here: the
            # waitlist builds on the booking services).
            from appointments.services.waitlist import offer_freed_seats

            offer_freed_seats(slot_id=slot.pk)
    return slot
