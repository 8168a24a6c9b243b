"""`POST /fhir/R4/Appointment`: a FHIR Appointment read into the REST booking's input, then the one
booking service (appointments.services.appointment_book) with the REST input's validation."""

from rest_framework.exceptions import NotFound, ValidationError

from appointments import services
from appointments.serializers import AppointmentCreateIn

from .params import MAX_DB_INT

BOOKABLE_STATUSES = ("proposed", "pending", "booked")


def _bad(attr: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({attr: [message]}, code=code)


def _reference_id(value, resource_type: str, attr: str) -> str | None:
    """The id of a `{"reference": "Type/id"}` of the given type, or None when it names another type."""
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        raise _bad(attr, "A reference is an object with a `reference` string such as 'Slot/12'.")
    parts = value["reference"].rstrip("/").split("/")
    if len(parts) < 2 or not parts[-1]:
        raise _bad(attr, "A reference names its type and id, e.g. 'Slot/12'.")
    return parts[-1] if parts[-2] == resource_type else None


def booking_input(body) -> dict:
    """The REST booking's input (`slot_id`, `patient_id`, `reason`) from a FHIR Appointment."""
    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        raise _bad("resourceType", "The body must be an Appointment resource.")
    status = body.get("status", "booked")
    if status not in BOOKABLE_STATUSES:
        raise _bad("status", f"A new appointment's status is one of {', '.join(BOOKABLE_STATUSES)}.")
    slots = body.get("slot")
    if not isinstance(slots, list) or len(slots) != 1:
        raise _bad("slot", 'Name exactly one slot: `slot: [{"reference": "Slot/{id}"}]`.', "required")
    slot_id = _reference_id(slots[0], "Slot", "slot")
    if slot_id is None:
        raise _bad("slot", "The slot must be a Slot reference.")
    if not (slot_id.isascii() and slot_id.isdigit()) or int(slot_id) > MAX_DB_INT:
        raise NotFound(f"Slot/{slot_id[:64]} is not known.")
    participants = body.get("participant")
    if not isinstance(participants, list) or not participants:
        raise _bad(
            "participant", 'Name the patient: `participant: [{"actor": {"reference": "Patient/{id}"}}]`.', "required"
        )
    patient_ids = []
    for participant in participants:
        if not isinstance(participant, dict):
            raise _bad("participant", "Each participant is an object with an `actor` reference.")
        if "actor" not in participant:
            continue
        patient_id = _reference_id(participant["actor"], "Patient", "participant.actor")
        if patient_id is not None:
            patient_ids.append(patient_id)
    if len(patient_ids) != 1:
        raise _bad("participant", "Exactly one participant's actor must be a Patient reference.", "required")
    if not (patient_ids[0].isascii() and patient_ids[0].isdigit()) or int(patient_ids[0]) > MAX_DB_INT:
        raise _bad("participant", "No active patient account has this id.", "does_not_exist")
    reason = body.get("description", "")
    if not isinstance(reason, str):
        raise _bad("description", "The description (the booking's reason) is a string.")
    return {"slot_id": int(slot_id), "patient_id": int(patient_ids[0]), "reason": reason}


def book(*, by, body):
    data = AppointmentCreateIn(data=booking_input(body))
    data.is_valid(raise_exception=True)
    return services.appointment_book(by=by, **data.validated_data)
