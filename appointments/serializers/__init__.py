"""Serializers of the OPD: one module per sub-domain; every name is importable from here as before."""

from appointments.serializers.bookings import (
    AppointmentCreateIn,
    AppointmentOut,
    AppointmentUpdateIn,
    CancelIn,
    PatientBriefOut,
)
from appointments.serializers.common import TimeZoneAwareInputField, local_iso
from appointments.serializers.doctors import (
    DOCTOR_PROFILE_FIELDS,
    DoctorBriefOut,
    DoctorCreateIn,
    DoctorOut,
    DoctorUpdateIn,
)
from appointments.serializers.schedules import GenerateSlotsIn, GenerateSlotsOut, OpdScheduleIn, OpdScheduleOut
from appointments.serializers.slots import SlotCreateIn, SlotOut, SlotUpdateIn
from appointments.serializers.visits import MAX_PRESCRIPTIONS, PrescriptionSerializer, VisitCreateIn, VisitOut

__all__ = [
    "MAX_PRESCRIPTIONS",
    "local_iso",
    "TimeZoneAwareInputField",
    "DoctorBriefOut",
    "DOCTOR_PROFILE_FIELDS",
    "DoctorOut",
    "DoctorCreateIn",
    "DoctorUpdateIn",
    "OpdScheduleOut",
    "OpdScheduleIn",
    "GenerateSlotsIn",
    "GenerateSlotsOut",
    "SlotOut",
    "SlotCreateIn",
    "SlotUpdateIn",
    "PatientBriefOut",
    "AppointmentOut",
    "AppointmentCreateIn",
    "AppointmentUpdateIn",
    "CancelIn",
    "PrescriptionSerializer",
    "VisitOut",
    "VisitCreateIn",
]
