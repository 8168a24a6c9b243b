"""Patient (a user of a patient role), Practitioner and PractitionerRole (a doctor)."""

from hms.api.roles import Role

from ..http import identifier_system
from .common import drop_empty, identifier, meta, reference, telecom

PATIENT_ROLES = (Role.USER, Role.DONOR)


def patient(row: dict, *, contact: bool = True, prefix: str = "") -> dict:
    """`row`: a user's columns as `types.PATIENT_COLUMNS` reads them, each name after `prefix` (e.g.
    `patient__` in an appointment's row). `contact`: the e-mail too (the patient itself and admins);
    staff get what the REST API shows them of a patient (name and phone on appointments)."""
    pk = row[f"{prefix}id"]
    return drop_empty(
        {
            "resourceType": "Patient",
            "id": str(pk),
            "meta": meta(row[f"{prefix}date_joined"]),
            "identifier": identifier(f"user-{pk}"),
            "active": row[f"{prefix}is_active"],
            "name": [{"use": "usual", "text": row[f"{prefix}fullname"] or row[f"{prefix}username"]}],
            "telecom": telecom(row[f"{prefix}phone_num"], row[f"{prefix}email"] if contact else ""),
        }
    )


def practitioner(row: dict, *, prefix: str = "") -> dict:
    """`row`: a doctor's columns as `types.DOCTOR_COLUMNS` reads them, each name after `prefix`."""
    pk, qualification = row[f"{prefix}id"], row[f"{prefix}qualification"]
    return drop_empty(
        {
            "resourceType": "Practitioner",
            "id": str(pk),
            "meta": meta(row[f"{prefix}updated_at"]),
            "identifier": [
                *identifier(f"doctor-{pk}"),
                {
                    "use": "official",
                    "system": f"{identifier_system()}/license",
                    "value": row[f"{prefix}license_number"],
                },
            ],
            "active": row[f"{prefix}user__is_active"],
            "name": [{"use": "official", "text": row[f"{prefix}user__fullname"] or row[f"{prefix}user__username"]}],
            "telecom": telecom(row[f"{prefix}user__phone_num"], row[f"{prefix}user__email"]),
            "qualification": [{"code": {"text": qualification}}] if qualification else [],
        }
    )


def practitioner_role(row: dict) -> dict:
    """`row`: a doctor's columns as `types.DOCTOR_COLUMNS` reads them."""
    pk, hospital_id = row["id"], row["hospital_id"]
    specialty = [{"text": text} for text in (row["specialization"], row["department"]) if text]
    return drop_empty(
        {
            "resourceType": "PractitionerRole",
            "id": str(pk),
            "meta": meta(row["updated_at"]),
            "identifier": identifier(f"doctor-{pk}"),
            "active": row["is_available"] and row["user__is_active"],
            "practitioner": reference("Practitioner", pk),
            "organization": reference("Organization", f"hospital-{hospital_id}"),
            "code": [{"text": "Doctor"}],
            "specialty": specialty,
            "location": [reference("Location", f"hospital-{hospital_id}")],
        }
    )
