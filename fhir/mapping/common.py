"""What every mapped resource uses: the code systems, references, identifiers, times, contacts."""

from zoneinfo import ZoneInfo

from ..http import identifier_system

APPOINTMENT_STATUS = "http://hl7.org/fhir/appointmentstatus"
SLOT_STATUS = "http://hl7.org/fhir/slotstatus"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


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


def telecom(phone: str, email: str) -> list[dict]:
    telecom = []
    if phone:
        telecom.append({"system": "phone", "value": phone})
    if email:
        telecom.append({"system": "email", "value": email})
    return telecom


def drop_empty(resource: dict) -> dict:
    """FHIR forbids empty strings, lists and objects: leave such elements out."""
    return {key: value for key, value in resource.items() if value not in ("", None, [], {})}


def addresses(row) -> list[dict]:
    parts = {
        "line": [row.address] if row.address else [],
        "city": row.city,
        "state": getattr(row, "state", ""),
        "postalCode": getattr(row, "postal_code", ""),
        "country": getattr(row, "country", ""),
    }
    address = drop_empty(parts)
    return [address] if address else []
