"""Organization (a hospital, a blood bank) and Location (a hospital, a ward, a bed)."""

from hospitals.models import BedStatus, Hospital

from ..http import identifier_system
from .common import (
    BED_STATUS,
    LOCATION_PHYSICAL_TYPE,
    ORGANIZATION_TYPE,
    addresses,
    drop_empty,
    identifier,
    meta,
    reference,
    telecom,
)

# HMS shown bed status -> v2-0116 bed status.
BED_STATUS_CODES = {
    BedStatus.AVAILABLE: ("U", "Unoccupied"),
    BedStatus.RESERVED: ("U", "Unoccupied"),
    BedStatus.OCCUPIED: ("O", "Occupied"),
    BedStatus.CLEANING: ("H", "Housekeeping"),
    BedStatus.MAINTENANCE: ("C", "Closed"),
}


def organization_hospital(hospital: Hospital) -> dict:
    return drop_empty(
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
            "telecom": telecom(hospital.phone, hospital.email),
            "address": addresses(hospital),
        }
    )


def organization_bloodbank(bank) -> dict:
    return drop_empty(
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
            "telecom": telecom(bank.phone, bank.email),
            "address": addresses(bank),
            "partOf": reference("Organization", f"hospital-{bank.hospital_id}") if bank.hospital_id else None,
        }
    )


def _physical_type(code: str, display: str) -> dict:
    return {"coding": [{"system": LOCATION_PHYSICAL_TYPE, "code": code, "display": display}]}


def location_hospital(hospital: Hospital) -> dict:
    position = None
    if hospital.latitude is not None and hospital.longitude is not None:
        position = {"latitude": hospital.latitude, "longitude": hospital.longitude}
    return drop_empty(
        {
            "resourceType": "Location",
            "id": f"hospital-{hospital.pk}",
            "meta": meta(hospital.updated_at),
            "identifier": identifier(f"hospital-{hospital.pk}"),
            "status": "active" if hospital.is_active else "inactive",
            "name": hospital.name,
            "mode": "instance",
            "physicalType": _physical_type("bu", "Building"),
            "telecom": telecom(hospital.phone, hospital.email),
            "address": (addresses(hospital) or [None])[0],
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
    return drop_empty(
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
    return drop_empty(
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
