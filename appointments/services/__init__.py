"""Every OPD rule that writes: keyword-only functions, one transaction each."""

from appointments.services.bookings import (
    appointment_book,
    appointment_cancel,
    appointment_transition,
    appointment_update,
)
from appointments.services.doctors import doctor_create, doctor_update
from appointments.services.holds import hold_book, hold_create, hold_release
from appointments.services.schedules import opd_schedule_create, opd_schedule_update, slots_generate
from appointments.services.slots import slot_create, slot_update
from appointments.services.visits import visit_create

__all__ = [
    "appointment_book",
    "appointment_cancel",
    "appointment_transition",
    "appointment_update",
    "doctor_create",
    "doctor_update",
    "hold_book",
    "hold_create",
    "hold_release",
    "opd_schedule_create",
    "opd_schedule_update",
    "slot_create",
    "slot_update",
    "slots_generate",
    "visit_create",
]
