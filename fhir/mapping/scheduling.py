"""Schedule (an OPD schedule), Slot and Appointment."""

from zoneinfo import ZoneInfo

from appointments.models import Appointment, Slot, booking_refusal
from hospitals.models import Hospital

from .common import PARTICIPATION_TYPE, drop_empty, identifier, meta, reference

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


def slot_status(row: dict, now) -> str:
    """free: bookable now; busy-unavailable: closed or cancelled, or its OPD, doctor or hospital not
    taking bookings; busy: the rest (full, or already started). `types.slot_status_queries` is the
    same rule in SQL. `row`: a slot's columns as `types.SLOT_COLUMNS` reads them."""
    if (
        row["status"] != Slot.Status.OPEN
        or row["hospital__opd_status"] == Hospital.OpdStatus.CLOSED
        or not row["doctor__is_available"]
        or not row["hospital__is_active"]
    ):
        return SLOT_UNAVAILABLE
    return SLOT_FREE if booking_refusal(_SlotView(row), now) is None else SLOT_BUSY


class _SlotView:
    """A slot's columns as `booking_refusal` reads a slot (`slot.hospital.is_active`, ...)."""

    __slots__ = ("booked", "capacity", "doctor", "held", "hospital", "start", "status")

    def __init__(self, row: dict):
        self.start, self.status, self.booked = row["start"], row["status"], row["booked"]
        self.capacity, self.held = row["capacity"], row["held"]
        self.hospital = _Related(is_active=row["hospital__is_active"], opd_status=row["hospital__opd_status"])
        self.doctor = _Related(is_available=row["doctor__is_available"])


class _Related:
    def __init__(self, **values):
        self.__dict__.update(values)


def slot(row: dict, now) -> dict:
    zone = ZoneInfo(row["hospital__timezone"])
    pk, specialization, capacity = row["id"], row["doctor__specialization"], row["capacity"]
    available = max(capacity - row["booked"] - row["held"], 0)
    return drop_empty(
        {
            "resourceType": "Slot",
            "id": str(pk),
            "meta": meta(row["updated_at"]),
            "identifier": identifier(f"slot-{pk}"),
            "specialty": [{"text": specialization}] if specialization else [],
            "schedule": reference("Schedule", row["opd_schedule_id"]),
            "status": slot_status(row, now),
            "start": row["start"].astimezone(zone).isoformat(),
            "end": row["end"].astimezone(zone).isoformat(),
            "comment": f"{available} of {capacity} seats available",
        }
    )


_SUBJECT = [{"coding": [{"system": PARTICIPATION_TYPE, "code": "SBJ", "display": "subject"}]}]
_PERFORMER = [{"coding": [{"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}]}]


def _actor(resource_type: str, resource_id, display: str) -> dict:
    actor = reference(resource_type, resource_id)
    if display:
        actor["display"] = display
    return actor


def appointment(row: dict) -> dict:
    """`row`: an appointment's columns as `types.APPOINTMENT_COLUMNS` reads them."""
    zone = ZoneInfo(row["hospital__timezone"])
    pk, cancel_reason = row["id"], row["cancel_reason"]
    doctor_name = row["doctor__user__fullname"] if row["doctor__user_id"] else ""
    return drop_empty(
        {
            "resourceType": "Appointment",
            "id": str(pk),
            "meta": meta(row["updated_at"]),
            "identifier": identifier(f"appointment-{pk}"),
            "status": APPOINTMENT_STATUS_CODES[row["status"]],
            "cancelationReason": {"text": cancel_reason} if cancel_reason else None,
            "description": row["reason"],
            "start": row["slot__start"].astimezone(zone).isoformat(),
            "end": row["slot__end"].astimezone(zone).isoformat(),
            "created": row["created_at"].astimezone(zone).date().isoformat(),
            "comment": f"Token {row['token_number']}",
            "slot": [reference("Slot", row["slot_id"])] if row["slot__opd_schedule_id"] else [],
            "participant": [
                {
                    "type": _SUBJECT,
                    "actor": _actor("Patient", row["patient_id"], row["patient__fullname"]),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": _PERFORMER,
                    "actor": _actor("Practitioner", row["doctor_id"], doctor_name),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": reference("Location", f"hospital-{row['hospital_id']}"),
                    "required": "required",
                    "status": "accepted",
                },
            ],
        }
    )
