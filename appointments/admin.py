"""Admin site for OPD. Appointments and visits are read-only here (they change through the API's rules);
slot counters are never edited by hand. Nothing is deleted."""

from zoneinfo import ZoneInfo

from django.contrib import admin

from appointments.models import Appointment, Doctor, Hold, OpdSchedule, Prescription, Slot, Visit
from hms.admin import NoDeleteAdmin, ReadOnlyAdmin, ReadOnlyInline


@admin.register(Doctor)
class DoctorAdmin(NoDeleteAdmin):
    list_display = ["id", "user", "hospital", "specialization", "department", "license_number", "is_available"]
    list_filter = ["is_available", "specialization", "hospital"]
    search_fields = ["user__fullname", "user__username", "license_number", "specialization", "department"]
    list_select_related = ["user", "hospital"]
    raw_id_fields = ["user", "hospital"]


@admin.register(OpdSchedule)
class OpdScheduleAdmin(NoDeleteAdmin):
    list_display = ["id", "doctor", "hospital", "weekdays", "start_time", "end_time", "slot_minutes", "is_active"]
    list_filter = ["is_active", "hospital"]
    search_fields = ["doctor__user__fullname", "department"]
    list_select_related = ["doctor__user", "hospital"]
    raw_id_fields = ["doctor", "hospital"]


@admin.register(Slot)
class SlotAdmin(NoDeleteAdmin):
    list_display = ["id", "doctor", "hospital", "start", "end", "capacity", "booked", "status"]
    list_filter = ["status", "hospital"]
    search_fields = ["doctor__user__fullname"]
    date_hierarchy = "start"
    list_select_related = ["doctor__user", "hospital"]
    raw_id_fields = ["doctor", "hospital", "opd_schedule"]
    # Seats and tokens move only with bookings and holds; capacity below `booked + hold_count` fails the
    # model's check.
    readonly_fields = ["booked", "hold_count", "last_token", "local_date", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "hospital", "doctor", "opd_schedule", "start", "end"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.hospital = obj.doctor.hospital
            obj.local_date = obj.start.astimezone(ZoneInfo(obj.hospital.timezone)).date()
        super().save_model(request, obj, form, change)


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "patient", "doctor", "hospital", "slot", "token_number", "status", "created_at"]
    list_filter = ["status", "hospital"]
    search_fields = ["patient__fullname", "patient__username", "doctor__user__fullname"]
    list_select_related = ["patient", "doctor__user", "hospital", "slot"]
    date_hierarchy = "created_at"


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    """Holds change only through the API's rules (the slot's `hold_count` moves with them)."""

    list_display = ["id", "slot", "patient", "hospital", "status", "expires_at", "appointment", "created_at"]
    list_filter = ["status", "hospital"]
    search_fields = ["patient__fullname", "patient__username", "slot__doctor__user__fullname"]
    list_select_related = ["slot__doctor__user", "patient", "hospital", "appointment"]
    raw_id_fields = ["slot", "patient", "hospital", "appointment", "held_by"]
    date_hierarchy = "created_at"


class PrescriptionInline(ReadOnlyInline):
    model = Prescription


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ["id", "patient", "doctor", "hospital", "visited_at", "appointment"]
    list_filter = ["hospital"]
    search_fields = ["patient__fullname", "doctor__user__fullname", "diagnosis"]
    list_select_related = ["patient", "doctor__user", "hospital"]
    inlines = [PrescriptionInline]
