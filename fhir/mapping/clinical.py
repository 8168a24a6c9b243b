"""Encounter (a visit, an admission) and MedicationRequest (a prescription)."""

from datetime import timedelta

from django.utils import timezone

from .common import ENCOUNTER_CLASS, drop_empty, identifier, local, meta, reference

ENCOUNTER_CLASS_CODES = {"visit": ("AMB", "ambulatory"), "admission": ("IMP", "inpatient encounter")}


def _class(kind: str) -> dict:
    code, display = ENCOUNTER_CLASS_CODES[kind]
    return {"system": ENCOUNTER_CLASS, "code": code, "display": display}


def encounter_visit(visit) -> dict:
    zone = visit.hospital.timezone
    return drop_empty(
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
    return drop_empty(
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
    dosage = drop_empty({"text": text, "patientInstruction": prescription.instructions})
    return drop_empty(
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
