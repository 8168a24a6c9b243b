"""Schedule (an OPD schedule), Slot and Appointment."""

from zoneinfo import ZoneInfo

from appointments.models import Appointment, Slot, booking_refusal
from hospitals.models import Hospital

from .common import PARTICIPATION_TYPE, drop_empty, identifier, local, meta, reference

# HMS appointment status -> http://hl7.org/fhir/appointmentstatus (R4).
APPOINTMENT_STATUS_CODES = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.CHECKED_IN: "checked-in",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
}
SLOT_FREE, SLOT_BUSY, SLOT_UNAVAILABLE = "free", "busy", "busy-unavailable"

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def schedule(opd) -> dict:
    days = ",".join(WEEKDAYS[day] for day in sorted(opd.weekdays or []) if isinstance(day, int) and 0 <= day <= 6)
    horizon = {"start": opd.valid_from.isoformat()}
    if opd.valid_until:
        horizon["end"] = opd.valid_until.isoformat()
    return drop_empty(
        {
            "resourceType": "Schedule",
            "id": str(opd.pk),
            "meta": meta(opd.updated_at),
            "identifier": identifier(f"opd-schedule-{opd.pk}"),
            "active": opd.is_active,
            "specialty": [{"text": opd.department}] if opd.department else [],
            "actor": [reference("Practitioner", opd.doctor_id), reference("Location", f"hospital-{opd.hospital_id}")],
            "planningHorizon": horizon,
            "comment": (
                f"OPD {days} {opd.start_time:%H:%M}-{opd.end_time:%H:%M} ({opd.hospital.timezone}), "
                f"{opd.slot_minutes}-minute slots of {opd.capacity_per_slot}"
            ),
        }
    )


def slot_status(slot: Slot, now) -> str:
    """free: bookable now; busy-unavailable: closed or cancelled, or its OPD, doctor or hospital not
    taking bookings; busy: the rest (full, or already started). `types.slot_status_queries` is the
    same rule in SQL."""
    if (
        slot.status != Slot.Status.OPEN
        or slot.hospital.opd_status == Hospital.OpdStatus.CLOSED
        or not slot.doctor.is_available
        or not slot.hospital.is_active
    ):
        return SLOT_UNAVAILABLE
    return SLOT_FREE if booking_refusal(slot, now) is None else SLOT_BUSY


def slot(row: Slot, now) -> dict:
    zone = row.hospital.timezone
    return drop_empty(
        {
            "resourceType": "Slot",
            "id": str(row.pk),
            "meta": meta(row.updated_at),
            "identifier": identifier(f"slot-{row.pk}"),
            "specialty": [{"text": row.doctor.specialization}] if row.doctor.specialization else [],
            "schedule": reference("Schedule", row.opd_schedule_id),
            "status": slot_status(row, now),
            "start": local(row.start, zone),
            "end": local(row.end, zone),
            "comment": f"{row.available} of {row.capacity} seats available",
        }
    )


def appointment(row: Appointment) -> dict:
    zone = row.hospital.timezone
    doctor_name = row.doctor.user.fullname if row.doctor.user_id else ""
    return drop_empty(
        {
            "resourceType": "Appointment",
            "id": str(row.pk),
            "meta": meta(row.updated_at),
            "identifier": identifier(f"appointment-{row.pk}"),
            "status": APPOINTMENT_STATUS_CODES[row.status],
            "cancelationReason": {"text": row.cancel_reason} if row.cancel_reason else None,
            "description": row.reason,
            "start": local(row.slot.start, zone),
            "end": local(row.slot.end, zone),
            "created": row.created_at.astimezone(ZoneInfo(zone)).date().isoformat(),
            "comment": f"Token {row.token_number}",
            "slot": [reference("Slot", row.slot_id)] if row.slot.opd_schedule_id else [],
            "participant": [
                {
                    "type": [{"coding": [{"system": PARTICIPATION_TYPE, "code": "SBJ", "display": "subject"}]}],
                    "actor": {**reference("Patient", row.patient_id), "display": row.patient.fullname}
                    if row.patient.fullname
                    else reference("Patient", row.patient_id),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": [
                        {"coding": [{"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}]}
                    ],
                    "actor": {**reference("Practitioner", row.doctor_id), "display": doctor_name}
                    if doctor_name
                    else reference("Practitioner", row.doctor_id),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": reference("Location", f"hospital-{row.hospital_id}"),
                    "required": "required",
                    "status": "accepted",
                },
            ],
        }
    )
