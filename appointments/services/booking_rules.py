"""Who may book (and hold) a seat, for whom, and why a slot refuses: the checks the booking paths
(services/bookings.py), holds and the waitlist share. A staff member books into its own hospital's
slots only; `check_open` raises `booking_refusal`'s answer in the contract's shape.
"""

from django.db.models import F
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from appointments.models import SLOT_STARTED, Appointment, Slot, booking_refusal
from hms.api.exceptions import Conflict
from hms.api.roles import Role

PATIENT_ROLES = (User.Role.USER, User.Role.DONOR)


def patient_for(*, by: User, patient_id: int | None) -> User:
    """Patients and donors book for themselves; staff must name an active patient or donor account."""
    if by.role in PATIENT_ROLES:
        if patient_id is not None and patient_id != by.pk:
            raise PermissionDenied("Patients book for themselves only.")
        return by
    if patient_id is None:
        raise ValidationError({"patient_id": ["Staff booking for a patient must name the patient."]}, code="required")
    patient = User.objects.filter(pk=patient_id, is_active=True, role__in=PATIENT_ROLES).first()
    if patient is None:
        raise ValidationError({"patient_id": ["No active patient account has this id."]}, code="does_not_exist")
    return patient


def hospital_scope(by: User) -> int | None:
    """The hospital a booker is confined to: None for patients and admin; a hospital admin or doctor
    books into their own hospital's slots only (0, matching no hospital, when they have none)."""
    if by.role in (Role.HOSPITAL_ADMIN, Role.DOCTOR):
        return by.hospital_id or 0
    return None


def may_act_for(by: User, *, patient_id: int, hospital_id: int) -> bool:
    """The patient itself; admin; a hospital admin or doctor of `hospital_id` (a hold's or a waitlist
    entry's hospital)."""
    if by.pk == patient_id:
        return True
    scope = hospital_scope(by)
    return (scope is None and by.role == Role.ADMIN) or (scope is not None and scope == hospital_id)


def check_open(slot: Slot, *, holds: bool, seat_held: bool = False) -> None:
    """Raise `booking_refusal`'s answer: a slot that has started is a 400 on `slot_id`, the rest 409."""
    refusal = booking_refusal(slot, holds=holds, seat_held=seat_held)
    if refusal is None:
        return
    code, message = refusal
    if code == SLOT_STARTED:
        raise ValidationError({"slot_id": [message]}, code=code)
    raise Conflict(message, code=code)


def check_scope(*, by: User, slot: Slot, hospital_id: int | None = None) -> None:
    """Staff book (and hold) into their own hospital's slots only (403); a `hospital_id` given must be
    the slot's (400)."""
    scope = hospital_scope(by)
    if scope is not None and scope != slot.hospital_id:
        raise PermissionDenied("Staff book patients into their own hospital's slots only.")
    if hospital_id is not None and hospital_id != slot.hospital_id:
        raise ValidationError({"hospital_id": ["This slot belongs to another hospital."]}, code="hospital_mismatch")


def refuse(*, by: User, slot: Slot, hospital_id: int | None, holds: bool, seat_held: bool = False) -> None:
    """Raise the 403, 400 or 409 that refuses booking `slot`, in the contract's order; `holds`: the
    patient already holds a booking in it; `seat_held`: booking from a hold (its seat is taken)."""
    check_scope(by=by, slot=slot, hospital_id=hospital_id)
    check_open(slot, holds=holds, seat_held=seat_held)


def take_seat(slot: Slot) -> int:
    """Occupy a seat of a locked slot; returns the next token (never one issued before)."""
    Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1, last_token=F("last_token") + 1)
    return slot.last_token + 1


def has_active_booking(*, patient_id: int, slot: Slot) -> bool:
    return Appointment.objects.filter(patient_id=patient_id, slot=slot, status__in=Appointment.ACTIVE).exists()


def locked_slots():
    return Slot.objects.select_for_update(of=("self",)).select_related("hospital", "doctor")
