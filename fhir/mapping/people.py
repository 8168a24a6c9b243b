"""Patient (a user of a patient role), Practitioner and PractitionerRole (a doctor)."""

from hms.api.roles import Role

from ..http import identifier_system
from .common import drop_empty, identifier, meta, reference, telecom

PATIENT_ROLES = (Role.USER, Role.DONOR)


def patient(user, *, contact: bool = True) -> dict:
    """`contact`: the e-mail too (the patient itself and admins); staff get what the REST API shows
    them of a patient (name and phone on appointments)."""
    return drop_empty(
        {
            "resourceType": "Patient",
            "id": str(user.pk),
            "meta": meta(user.date_joined),
            "identifier": identifier(f"user-{user.pk}"),
            "active": user.is_active,
            "name": [{"use": "usual", "text": user.fullname or user.username}],
            "telecom": telecom(user.phone_num, user.email if contact else ""),
        }
    )


def practitioner(doctor) -> dict:
    user = doctor.user
    return drop_empty(
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
            "telecom": telecom(user.phone_num, user.email),
            "qualification": [{"code": {"text": doctor.qualification}}] if doctor.qualification else [],
        }
    )


def practitioner_role(doctor) -> dict:
    specialty = [{"text": text} for text in (doctor.specialization, doctor.department) if text]
    return drop_empty(
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
