"""FHIR test helpers: every response parsed as JSON of `application/fhir+json` and validated with
`fhir.resources`' R4B models (R4B's models of these resources match R4's structure), plus a check that
every code emitted is in its R4 value set."""

import importlib
import json

import pytest

from appointments.tests.factories import DoctorFactory, OpdScheduleFactory, SlotFactory

# R4 value sets (hl7.org/fhir/R4) of the codes the server emits, by (resource type, element path).
R4_VALUE_SETS = {
    ("Appointment", "status"): {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    },
    ("Slot", "status"): {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"},
    ("Encounter", "status"): {
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    },
    ("Location", "status"): {"active", "suspended", "inactive"},
    ("Location", "mode"): {"instance", "kind"},
    ("MedicationRequest", "status"): {
        "active",
        "on-hold",
        "cancelled",
        "completed",
        "entered-in-error",
        "stopped",
        "draft",
        "unknown",
    },
    ("MedicationRequest", "intent"): {
        "proposal",
        "plan",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    },
    ("Bundle", "type"): {"searchset"},
    ("OperationOutcome", "severity"): {"fatal", "error", "warning", "information"},
}
# Codings by system: the codes each system defines that the server may emit.
R4_CODE_SYSTEMS = {
    "http://terminology.hl7.org/CodeSystem/v2-0116": {"C", "H", "I", "K", "O", "U"},
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": {
        "AMB",
        "IMP",
        "EMER",
        "HH",
        "VR",
        "FLD",
        "OBSENC",
        "PRENC",
        "SS",
        "ACUTE",
        "NONAC",
    },
    "http://terminology.hl7.org/CodeSystem/location-physical-type": {
        "si",
        "bu",
        "wi",
        "wa",
        "lvl",
        "co",
        "ro",
        "bd",
        "ve",
        "ho",
        "ca",
        "rd",
        "area",
        "jdn",
    },
    "http://terminology.hl7.org/CodeSystem/organization-type": {
        "prov",
        "dept",
        "team",
        "govt",
        "ins",
        "pay",
        "edu",
        "reli",
        "crs",
        "cg",
        "bus",
        "other",
    },
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType": {"SBJ", "PPRF", "ATND", "PART", "LOC"},
}
ISSUE_TYPES = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
    "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found",
    "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict",
    "transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled", "informational",
}  # fmt: skip

MODULES = {
    "Bundle": "bundle",
    "CapabilityStatement": "capabilitystatement",
    "OperationOutcome": "operationoutcome",
    "Patient": "patient",
    "Practitioner": "practitioner",
    "PractitionerRole": "practitionerrole",
    "Organization": "organization",
    "Location": "location",
    "Schedule": "schedule",
    "Slot": "slot",
    "Appointment": "appointment",
    "Encounter": "encounter",
    "MedicationRequest": "medicationrequest",
}


def _model(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{MODULES[resource_type]}")
    return getattr(module, resource_type)


def _codes(resource: dict) -> None:
    resource_type = resource["resourceType"]
    for (rtype, element), allowed in R4_VALUE_SETS.items():
        if rtype == resource_type and element in resource:
            assert resource[element] in allowed, (resource_type, element, resource[element])
    if resource_type == "OperationOutcome":
        for issue in resource["issue"]:
            assert issue["code"] in ISSUE_TYPES, issue

    def walk(value):
        if isinstance(value, dict):
            system = value.get("system")
            if system in R4_CODE_SYSTEMS and "code" in value:
                assert value["code"] in R4_CODE_SYSTEMS[system], (system, value["code"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resource)


def validate(resource: dict) -> dict:
    """Parse with the R4B model (raises on any structural error) and check codes; nested resources too."""
    _model(resource["resourceType"]).model_validate(resource)
    _codes(resource)
    for entry in resource.get("entry", []) if resource["resourceType"] == "Bundle" else []:
        validate(entry["resource"])
    return resource


def fhir_json(response) -> dict:
    """The response body, checked as FHIR JSON and validated."""
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = json.loads(response.content)
    validate(body)
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome", body
    return body


def ids_of(bundle: dict, resource_type: str | None = None, mode: str = "match") -> list[str]:
    return [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == mode
        and (resource_type is None or entry["resource"]["resourceType"] == resource_type)
    ]


@pytest.fixture
def doctor(doctor_user, hospital):
    return DoctorFactory(user=doctor_user, hospital=hospital)


@pytest.fixture
def schedule(doctor):
    return OpdScheduleFactory(doctor=doctor)


@pytest.fixture
def slot(schedule):
    """A future open slot of `schedule`'s doctor, capacity 5."""
    return SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, capacity=5)
