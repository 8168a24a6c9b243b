"""HMS rows as FHIR R4 resources (plain dicts). The README's FHIR section tabulates this mapping.

Every function takes a row loaded with what it reads (the searches select it in their one query) and
issues no query of its own.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from appointments.models import Appointment, Slot, booking_refusal
from hms.api.roles import Role
from hospitals.models import BedStatus, Hospital

from .http import identifier_system

APPOINTMENT_STATUS = "http://hl7.org/fhir/appointmentstatus"
SLOT_STATUS = "http://hl7.org/fhir/slotstatus"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

# HMS appointment status -> http://hl7.org/fhir/appointmentstatus (R4).
APPOINTMENT_STATUS_CODES = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.CHECKED_IN: "checked-in",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
}
# HMS shown bed status -> v2-0116 bed status.
BED_STATUS_CODES = {
    BedStatus.AVAILABLE: ("U", "Unoccupied"),
    BedStatus.RESERVED: ("U", "Unoccupied"),
    BedStatus.OCCUPIED: ("O", "Occupied"),
    BedStatus.CLEANING: ("H", "Housekeeping"),
    BedStatus.MAINTENANCE: ("C", "Closed"),
}
ENCOUNTER_CLASS_CODES = {"visit": ("AMB", "ambulatory"), "admission": ("IMP", "inpatient encounter")}
SLOT_FREE, SLOT_BUSY, SLOT_UNAVAILABLE = "free", "busy", "busy-unavailable"


def reference(resource_type: str, resource_id) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def identifier(value: str) -> list[dict]:
    return [{"use": "official", "system": identifier_system(), "value": value}]


def instant(value) -> str | None:
    """An aware datetime as a FHIR instant (UTC)."""
    return value.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z") if value else None


def local(value, zone_name: str) -> str | None:
    """An aware datetime as a FHIR dateTime with the hospital's UTC offset (as the REST API shows it)."""
    return value.astimezone(ZoneInfo(zone_name)).isoformat() if value else None


def meta(updated) -> dict:
    return {"lastUpdated": instant(updated)} if updated else {}


def _telecom(phone: str, email: str) -> list[dict]:
    telecom = []
    if phone:
        telecom.append({"system": "phone", "value": phone})
    if email:
        telecom.append({"system": "email", "value": email})
    return telecom


def _drop_empty(resource: dict) -> dict:
    """FHIR forbids empty strings, lists and objects: leave such elements out."""
    return {key: value for key, value in resource.items() if value not in ("", None, [], {})}


def patient(user, *, contact: bool = True) -> dict:
    """`contact`: the e-mail too (the patient itself and admins); staff get what the REST API shows
    them of a patient (name and phone on appointments)."""
    return _drop_empty(
        {
            "resourceType": "Patient",
            "id": str(user.pk),
            "meta": meta(user.date_joined),
            "identifier": identifier(f"user-{user.pk}"),
            "active": user.is_active,
            "name": [{"use": "usual", "text": user.fullname or user.username}],
            "telecom": _telecom(user.phone_num, user.email if contact else ""),
        }
    )


def practitioner(doctor) -> dict:
    user = doctor.user
    return _drop_empty(
        {
            "resourceType": "Practitioner",
            "id": str(doctor.pk),
            "meta": meta(doctor.updated_at),
            "identifier": [
                *identifier(f"doctor-{doctor.pk}"),
                {"use": "official", "system": f"{identifier_system()}/license", "value": doctor.license_number},
            ],
            "active": user.is_active,
            "name": [{"use": "official", "text": user.fullname or user.username}],
            "telecom": _telecom(user.phone_num, user.email),
            "qualification": [{"code": {"text": doctor.qualification}}] if doctor.qualification else [],
        }
    )


def practitioner_role(doctor) -> dict:
    specialty = [{"text": text} for text in (doctor.specialization, doctor.department) if text]
    return _drop_empty(
        {
            "resourceType": "PractitionerRole",
            "id": str(doctor.pk),
            "meta": meta(doctor.updated_at),
            "identifier": identifier(f"doctor-{doctor.pk}"),
            "active": doctor.is_available and doctor.user.is_active,
            "practitioner": reference("Practitioner", doctor.pk),
            "organization": reference("Organization", f"hospital-{doctor.hospital_id}"),
            "code": [{"text": "Doctor"}],
            "specialty": specialty,
            "location": [reference("Location", f"hospital-{doctor.hospital_id}")],
        }
    )


def _address(row) -> list[dict]:
    parts = {
        "line": [row.address] if row.address else [],
        "city": row.city,
        "state": getattr(row, "state", ""),
        "postalCode": getattr(row, "postal_code", ""),
        "country": getattr(row, "country", ""),
    }
    address = _drop_empty(parts)
    return [address] if address else []


def organization_hospital(hospital: Hospital) -> dict:
    return _drop_empty(
        {
            "resourceType": "Organization",
            "id": f"hospital-{hospital.pk}",
            "meta": meta(hospital.updated_at),
            "identifier": [
                *identifier(f"hospital-{hospital.pk}"),
                {
                    "use": "official",
                    "system": f"{identifier_system()}/hospital-registration",
                    "value": hospital.registration_number,
                },
            ],
            "active": hospital.is_active,
            "type": [{"coding": [{"system": ORGANIZATION_TYPE, "code": "prov", "display": "Healthcare Provider"}]}],
            "name": hospital.name,
            "telecom": _telecom(hospital.phone, hospital.email),
            "address": _address(hospital),
        }
    )


def organization_bloodbank(bank) -> dict:
    return _drop_empty(
        {
            "resourceType": "Organization",
            "id": f"bloodbank-{bank.pk}",
            "meta": meta(bank.updated_at),
            "identifier": [
                *identifier(f"bloodbank-{bank.pk}"),
                {"use": "official", "system": f"{identifier_system()}/bloodbank-license", "value": bank.license_number},
            ],
            "active": bank.is_active,
            "type": [{"coding": [{"system": ORGANIZATION_TYPE, "code": "prov", "display": "Healthcare Provider"}]}],
            "name": bank.name,
            "telecom": _telecom(bank.phone, bank.email),
            "address": _address(bank),
            "partOf": reference("Organization", f"hospital-{bank.hospital_id}") if bank.hospital_id else None,
        }
    )


def _physical_type(code: str, display: str) -> dict:
    return {"coding": [{"system": LOCATION_PHYSICAL_TYPE, "code": code, "display": display}]}


def location_hospital(hospital: Hospital) -> dict:
    position = None
    if hospital.latitude is not None and hospital.longitude is not None:
        position = {"latitude": hospital.latitude, "longitude": hospital.longitude}
    return _drop_empty(
        {
            "resourceType": "Location",
            "id": f"hospital-{hospital.pk}",
            "meta": meta(hospital.updated_at),
            "identifier": identifier(f"hospital-{hospital.pk}"),
            "status": "active" if hospital.is_active else "inactive",
            "name": hospital.name,
            "mode": "instance",
            "physicalType": _physical_type("bu", "Building"),
            "telecom": _telecom(hospital.phone, hospital.email),
            "address": (_address(hospital) or [None])[0],
            "position": position,
            "managingOrganization": reference("Organization", f"hospital-{hospital.pk}"),
        }
    )


def _location_within(resource_id: str, row) -> dict:
    """What a ward's and a bed's Location share: ids, time, status (their hospital's), mode."""
    return {
        "resourceType": "Location",
        "id": resource_id,
        "meta": meta(row.updated_at),
        "identifier": identifier(resource_id),
        "status": "active" if row.hospital.is_active else "inactive",
        "mode": "instance",
    }


def location_ward(ward) -> dict:
    return _drop_empty(
        {
            **_location_within(f"ward-{ward.pk}", ward),
            "name": ward.name,
            "description": f"{ward.get_ward_type_display()} ward"
            + (f" {ward.ward_number}" if ward.ward_number else ""),
            "type": [{"text": ward.get_ward_type_display()}],
            "physicalType": _physical_type("wa", "Ward"),
            "managingOrganization": reference("Organization", f"hospital-{ward.hospital_id}"),
            "partOf": reference("Location", f"hospital-{ward.hospital_id}"),
        }
    )


def location_bed(bed, now=None) -> dict:
    code, display = BED_STATUS_CODES[bed.shown_status_at(now)]
    return _drop_empty(
        {
            **_location_within(f"bed-{bed.pk}", bed),
            "operationalStatus": {"system": BED_STATUS, "code": code, "display": display},
            "name": f"{bed.ward.name} bed {bed.bed_number}",
            "type": [{"text": bed.get_bed_type_display()}],
            "physicalType": _physical_type("bd", "Bed"),
            "managingOrganization": reference("Organization", f"hospital-{bed.hospital_id}"),
            "partOf": reference("Location", f"ward-{bed.ward_id}"),
        }
    )


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def schedule(opd) -> dict:
    days = ",".join(WEEKDAYS[day] for day in sorted(opd.weekdays or []) if isinstance(day, int) and 0 <= day <= 6)
    horizon = {"start": opd.valid_from.isoformat()}
    if opd.valid_until:
        horizon["end"] = opd.valid_until.isoformat()
    return _drop_empty(
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
    taking bookings; busy: the rest (full, or already started). `types.SLOT_STATUS_QUERIES` is the
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
    return _drop_empty(
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
    return _drop_empty(
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


def _class(kind: str) -> dict:
    code, display = ENCOUNTER_CLASS_CODES[kind]
    return {"system": ENCOUNTER_CLASS, "code": code, "display": display}


def encounter_visit(visit) -> dict:
    zone = visit.hospital.timezone
    return _drop_empty(
        {
            "resourceType": "Encounter",
            "id": f"visit-{visit.pk}",
            "meta": meta(visit.created_at),
            "identifier": identifier(f"visit-{visit.pk}"),
            "status": "finished",
            "class": _class("visit"),
            "subject": reference("Patient", visit.patient_id),
            "participant": [{"individual": reference("Practitioner", visit.doctor_id)}],
            "appointment": [reference("Appointment", visit.appointment_id)] if visit.appointment_id else [],
            "period": {"start": local(visit.visited_at, zone), "end": local(visit.visited_at, zone)},
            "reasonCode": [{"text": visit.complaint}] if visit.complaint else [],
            "serviceProvider": reference("Organization", f"hospital-{visit.hospital_id}"),
        }
    )


def encounter_admission(admission) -> dict:
    zone = admission.hospital.timezone
    period = {"start": local(admission.admitted_at, zone)}
    if admission.discharged_at:
        period["end"] = local(admission.discharged_at, zone)
    subject = (
        reference("Patient", admission.patient_id) if admission.patient_id else {"display": admission.patient_name}
    )
    return _drop_empty(
        {
            "resourceType": "Encounter",
            "id": f"admission-{admission.pk}",
            "meta": meta(admission.discharged_at or admission.admitted_at),
            "identifier": identifier(f"admission-{admission.pk}"),
            "status": "in-progress" if admission.discharged_at is None else "finished",
            "class": _class("admission"),
            "subject": subject,
            "period": period,
            "reasonCode": [{"text": admission.reason}] if admission.reason else [],
            "location": [
                {
                    "location": reference("Location", f"bed-{admission.bed_id}"),
                    "status": "active" if admission.discharged_at is None else "completed",
                }
            ],
            "serviceProvider": reference("Organization", f"hospital-{admission.hospital_id}"),
        }
    )


def medication_request(prescription, now=None) -> dict:
    visit = prescription.visit
    zone = visit.hospital.timezone
    status = "active"
    supply = None
    if prescription.duration_days:
        supply = {
            "value": prescription.duration_days,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
        if visit.visited_at + timedelta(days=prescription.duration_days) <= (now or timezone.now()):
            status = "completed"
    text = " ".join(part for part in (prescription.dosage, prescription.frequency) if part)
    dosage = _drop_empty({"text": text, "patientInstruction": prescription.instructions})
    return _drop_empty(
        {
            "resourceType": "MedicationRequest",
            "id": str(prescription.pk),
            "meta": meta(visit.created_at),
            "identifier": identifier(f"prescription-{prescription.pk}"),
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": {"text": prescription.medicine},
            "subject": reference("Patient", visit.patient_id),
            "encounter": reference("Encounter", f"visit-{visit.pk}"),
            "authoredOn": local(visit.visited_at, zone),
            "requester": reference("Practitioner", visit.doctor_id),
            "dosageInstruction": [dosage] if dosage else [],
            "dispenseRequest": {"expectedSupplyDuration": supply} if supply else None,
        }
    )


PATIENT_ROLES = (Role.USER, Role.DONOR)
