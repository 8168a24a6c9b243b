"""The CapabilityStatement: built from the served types (fhir.types.TYPES), so it lists exactly what
the server does."""

from django.conf import settings

from hms import __version__

from .types import TYPES

COMMON_PARAMS = [
    {"name": "_id", "type": "token", "documentation": "The resource id (comma-separated ids: any of them)."},
    {
        "name": "_lastUpdated",
        "type": "date",
        "documentation": "meta.lastUpdated; eq, ne, gt, lt, ge, le; a value without offset is hospital-local.",
    },
]


def _resource(rtype) -> dict:
    interactions = [{"code": "read"}, {"code": "search-type"}]
    if rtype.create:
        interactions.append(
            {
                "code": "create",
                "documentation": (
                    "Booking: an Appointment with `slot` (one Slot reference) and a Patient participant; "
                    "the rules of POST /api/v1/appointments apply (capacity, holds, Idempotency-Key). "
                    "Conflicts -> 409 OperationOutcome."
                ),
            }
        )
    resource = {
        "type": rtype.name,
        "interaction": interactions,
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "searchParam": [
            *COMMON_PARAMS,
            *({"name": p.name, "type": p.type, "documentation": p.documentation} for p in rtype.params),
        ],
    }
    if rtype.includes:
        resource["searchInclude"] = list(rtype.includes)
    if rtype.create:
        resource["conditionalCreate"] = False
    return resource


def capability_statement(base: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "id": "hms",
        "url": f"{base}/metadata",
        "name": "HMS",
        "title": "HMS FHIR R4 server",
        "status": "active",
        "experimental": False,
        "date": "2026-12-05",
        "publisher": "HMS",
        "description": (
            "Read and search over HMS hospitals, doctors, OPD schedules, slots, appointments, visits, "
            "admissions and prescriptions; booking through POST Appointment. Searches take _count "
            "(default 20, at most 100) and page through `next` links; unknown parameters are ignored "
            "unless the request carries `Prefer: handling=strict` (then 400)."
        ),
        "kind": "instance",
        "software": {"name": "HMS", "version": __version__},
        "implementation": {"description": "HMS FHIR R4 endpoint", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": f"Identifiers use the system {settings.FHIR_IDENTIFIER_SYSTEM}.",
                "security": {
                    "cors": False,
                    "description": (
                        "The REST API's JWT: `Authorization: Bearer <access token>` from POST /api/v1/auth/login. "
                        "Organization, Location, Practitioner, PractitionerRole, Schedule and Slot are public; "
                        "Patient, Appointment, Encounter and MedicationRequest need a token and show only what "
                        "the REST API shows the caller (others answer 404)."
                    ),
                },
                "resource": [_resource(rtype) for rtype in TYPES.values()],
            }
        ],
    }
