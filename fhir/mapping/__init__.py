"""HMS rows as FHIR R4 resources (plain dicts). The README's FHIR section tabulates this mapping.

Every function takes a row loaded with what it reads (the searches select it in their one query) and
issues no query of its own. `common` holds what every resource uses; the others map one family each.
"""

from .clinical import ENCOUNTER_CLASS_CODES, encounter_admission, encounter_visit, medication_request
from .common import (
    APPOINTMENT_STATUS,
    BED_STATUS,
    ENCOUNTER_CLASS,
    LOCATION_PHYSICAL_TYPE,
    ORGANIZATION_TYPE,
    PARTICIPATION_TYPE,
    SLOT_STATUS,
    identifier,
    instant,
    local,
    meta,
    reference,
)
from .people import PATIENT_ROLES, patient, practitioner, practitioner_role
from .places import (
    BED_STATUS_CODES,
    location_bed,
    location_hospital,
    location_ward,
    organization_bloodbank,
    organization_hospital,
)
from .scheduling import (
    APPOINTMENT_STATUS_CODES,
    SLOT_BUSY,
    SLOT_FREE,
    SLOT_UNAVAILABLE,
    WEEKDAYS,
    appointment,
    schedule,
    slot,
    slot_status,
)

__all__ = [
    "APPOINTMENT_STATUS",
    "APPOINTMENT_STATUS_CODES",
    "BED_STATUS",
    "BED_STATUS_CODES",
    "ENCOUNTER_CLASS",
    "ENCOUNTER_CLASS_CODES",
    "LOCATION_PHYSICAL_TYPE",
    "ORGANIZATION_TYPE",
    "PARTICIPATION_TYPE",
    "PATIENT_ROLES",
    "SLOT_BUSY",
    "SLOT_FREE",
    "SLOT_STATUS",
    "SLOT_UNAVAILABLE",
    "WEEKDAYS",
    "appointment",
    "encounter_admission",
    "encounter_visit",
    "identifier",
    "instant",
    "local",
    "location_bed",
    "location_hospital",
    "location_ward",
    "medication_request",
    "meta",
    "organization_bloodbank",
    "organization_hospital",
    "patient",
    "practitioner",
    "practitioner_role",
    "reference",
    "schedule",
    "slot",
    "slot_status",
]
