"""The FHIR resource types served, each as one or more HMS tables ("parts") with their search parameters.

`base` holds what a type is made of; `people`, `places`, `scheduling` and `clinical` declare the types.
"""

from .base import Context, Filter, Part, ResourceType, SearchParam, scoped
from .clinical import ENCOUNTER, MEDICATION_REQUEST
from .people import PATIENT, PRACTITIONER, PRACTITIONER_ROLE
from .places import LOCATION, ORGANIZATION
from .scheduling import APPOINTMENT, HMS_APPOINTMENT_STATUS, SCHEDULE, SLOT, appointment_row, slot_status_queries

__all__ = [
    "APPOINTMENT",
    "ENCOUNTER",
    "HMS_APPOINTMENT_STATUS",
    "LOCATION",
    "MEDICATION_REQUEST",
    "ORGANIZATION",
    "PATIENT",
    "PRACTITIONER",
    "PRACTITIONER_ROLE",
    "SCHEDULE",
    "SLOT",
    "TYPES",
    "appointment_row",
    "Context",
    "Filter",
    "Part",
    "ResourceType",
    "SearchParam",
    "scoped",
    "slot_status_queries",
]

TYPES = {
    rtype.name: rtype
    for rtype in (
        PATIENT,
        PRACTITIONER,
        PRACTITIONER_ROLE,
        ORGANIZATION,
        LOCATION,
        SCHEDULE,
        SLOT,
        APPOINTMENT,
        ENCOUNTER,
        MEDICATION_REQUEST,
    )
}
