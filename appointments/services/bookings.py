"""Booking, rescheduling, cancelling and moving appointments along their legal transitions.

Lock order, everywhere: the appointment row first (when there is one), then slot rows in primary-key
order. Booking locks only the slot, so no two transactions ever wait on each other in a cycle.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.activity import Action, record
from accounts.models import User
from appointments.models import Appointment, Slot
from appointments.permissions import STAFF_BOOKERS
from hms.api.exceptions import Conflict
from hms.api.permissions import ADMIN, DOCTOR, HOSPITAL_ADMIN

PATIENT_ROLES = (User.Role.USER, User.Role.DONOR)

Status = Appointment.Status


def _patient_for(*, by: User, patient_id: int | None) -> User:
    """Patients and donors book for themselves; staff must name an active patient or donor account."""
    if by.role in PATIENT_ROLES:
        if patient_id is not None and patient_id != by.pk:
            raise PermissionDenied("Patients book for themselves only.")
        return by
    if patient_id is None:
        raise ValidationError({"patient_id": ["Staff booking for a patient must name the patient."]}, code="required")
    patient = User.objects.filter(pk=patient_id, is_active=True, role__in=PATIENT_ROLES).first()
    if patient is None:
        raise ValidationError({"patient_id": ["No active patient account has this id."]}, code="invalid")
    return patient


def _staff_may_book_at(by: User, slot: Slot) -> bool:
    if by.role == ADMIN:
        return True
    return by.role in (HOSPITAL_ADMIN, DOCTOR) and by.hospital_id == slot.hospital_id


def _check_open(slot: Slot) -> None:
    """The 400s and 409s a slot gives a new booking (the caller holds the slot's row lock)."""
    if slot.start <= timezone.now():
        raise ValidationError({"slot_id": ["This slot has already started."]}, code="invalid")
    if slot.status != Slot.Status.OPEN:
        raise Conflict(f"This slot is {slot.status} and takes no bookings.")
    if slot.hospital.opd_status == "closed":
        raise Conflict("The hospital's OPD is closed.")
    if not slot.doctor.is_available:
        raise Conflict("The doctor is not taking appointments.")
    if slot.booked >= slot.capacity:
        raise Conflict("This slot is full.")


def _take_seat(slot: Slot) -> int:
    """Occupy a seat of a locked slot; returns the next token (never one issued before)."""
    Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1, last_token=F("last_token") + 1)
    return slot.last_token + 1


def _has_active_booking(*, patient_id: int, slot: Slot) -> bool:
    return Appointment.objects.filter(patient_id=patient_id, slot=slot, status__in=Appointment.ACTIVE).exists()


def _locked_slots():
    return Slot.objects.select_for_update(of=("self",)).select_related("hospital", "doctor")


@transaction.atomic
def appointment_book(
    *, request, by: User, slot_id: int, patient_id: int | None = None, hospital_id: int | None = None, reason: str = ""
) -> Appointment:
    """Book a seat: the slot row lock makes the capacity check and the increment one step.

    The appointment comes back with its patient, slot, doctor (and user) and hospital loaded.
    """
    patient = _patient_for(by=by, patient_id=patient_id)
    try:
        # The doctor's user comes along for the response (no query after the commit).
        slot = _locked_slots().select_related("doctor__user").get(pk=slot_id, hospital__is_active=True)
    except Slot.DoesNotExist:
        raise NotFound("No such slot.")
    if by.role in STAFF_BOOKERS and not _staff_may_book_at(by, slot):
        raise PermissionDenied("Staff book patients into their own hospital's slots only.")
    if hospital_id is not None and hospital_id != slot.hospital_id:
        raise ValidationError({"hospital_id": ["This slot belongs to another hospital."]}, code="invalid")
    _check_open(slot)
    if _has_active_booking(patient_id=patient.pk, slot=slot):
        raise Conflict("This patient already holds a booking in this slot.")
    appointment = Appointment.objects.create(
        patient=patient,
        slot=slot,
        doctor=slot.doctor,
        hospital=slot.hospital,
        token_number=_take_seat(slot),
        reason=reason,
        booked_by=by,
    )
    record(
        action=Action.CREATE,
        request=request,
        object_type="appointment",
        object_id=appointment.pk,
        patient_id=patient.pk,
    )
    return appointment


def _release_seat(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id).update(booked=F("booked") - 1)


def _locked_appointment(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update(of=("self",)).select_related("slot").get(pk=appointment.pk)


@transaction.atomic
def appointment_cancel(*, request, by: User, appointment: Appointment, reason: str = "") -> Appointment:
    """Cancel a booked appointment before its slot starts and give the seat back."""
    appointment = _locked_appointment(appointment)
    if appointment.status != Status.BOOKED:
        raise Conflict(f"A {appointment.status} appointment cannot be cancelled.")
    if appointment.slot.start <= timezone.now():
        raise Conflict("The slot has started; the appointment can no longer be cancelled.")
    appointment.status, appointment.cancel_reason = Status.CANCELLED, reason
    appointment.save(update_fields=["status", "cancel_reason", "updated_at"])
    _release_seat(appointment.slot_id)
    record(
        action=Action.ACTION,
        request=request,
        object_type="appointment",
        object_id=appointment.pk,
        patient_id=appointment.patient_id,
        detail={"action": "cancel"},
    )
    return appointment


@transaction.atomic
def appointment_transition(*, request, by: User, appointment: Appointment, status: str) -> Appointment:
    """check-in, complete, no-show: only the moves in `Appointment.TRANSITIONS`; no-show only after the start."""
    appointment = _locked_appointment(appointment)
    # A visit completes a booked appointment; the /complete action needs a check-in first.
    legal = appointment.can_become(status) and not (status == Status.COMPLETED and appointment.status == Status.BOOKED)
    if not legal or status == Status.CANCELLED:
        raise Conflict(f"A {appointment.status} appointment cannot become {status}.")
    if status == Status.NO_SHOW and appointment.slot.start > timezone.now():
        raise Conflict("A patient can be marked no-show only once the slot has started.")
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    record(
        action=Action.ACTION,
        request=request,
        object_type="appointment",
        object_id=appointment.pk,
        patient_id=appointment.patient_id,
        detail={"action": status},
    )
    return appointment


def _reschedule(*, by: User, appointment: Appointment, slot_id: int) -> None:
    if appointment.status != Status.BOOKED:
        raise Conflict(f"A {appointment.status} appointment cannot be rescheduled.")
    if appointment.slot.start <= timezone.now():
        raise Conflict("The slot has started; the appointment can no longer be rescheduled.")
    target = Slot.objects.filter(pk=slot_id, hospital__is_active=True).values_list("hospital_id", flat=True).first()
    if target is None:
        raise NotFound("No such slot.")
    if by.role == HOSPITAL_ADMIN and target != by.hospital_id:
        raise PermissionDenied("A hospital admin moves appointments within its own hospital only.")
    # Both slot rows, in primary-key order: two reschedules crossing the same pair cannot deadlock.
    locked = {slot.pk: slot for slot in _locked_slots().filter(pk__in=[appointment.slot_id, slot_id]).order_by("pk")}
    new_slot = locked[slot_id]
    _check_open(new_slot)
    if _has_active_booking(patient_id=appointment.patient_id, slot=new_slot):
        raise Conflict("This patient already holds a booking in that slot.")
    _release_seat(appointment.slot_id)
    appointment.token_number = _take_seat(new_slot)
    appointment.slot, appointment.doctor_id, appointment.hospital_id = (
        new_slot,
        new_slot.doctor_id,
        new_slot.hospital_id,
    )


@transaction.atomic
def appointment_update(*, request, by: User, appointment: Appointment, data: dict) -> Appointment:
    """Change the reason, or move to another slot (new seat taken, old one released, in one transaction)."""
    appointment = _locked_appointment(appointment)
    fields = []
    slot_id = data.get("slot_id")
    if slot_id is not None and slot_id != appointment.slot_id:
        _reschedule(by=by, appointment=appointment, slot_id=slot_id)
        fields += ["slot", "doctor", "hospital", "token_number"]
    if "reason" in data and data["reason"] != appointment.reason:
        if appointment.status not in Appointment.ACTIVE:
            raise Conflict(f"A {appointment.status} appointment cannot be changed.")
        appointment.reason = data["reason"]
        fields.append("reason")
    if fields:
        appointment.save(update_fields=[*fields, "updated_at"])
        record(
            action=Action.UPDATE,
            request=request,
            object_type="appointment",
            object_id=appointment.pk,
            patient_id=appointment.patient_id,
            detail={"fields": fields},
        )
    return appointment
