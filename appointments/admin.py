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


# The waitlist and doctor leave (API.md section 17): they change only through the API's rules (offers
# are holds on slots; leave closes and reopens slots).
from appointments.waitlist_models import DoctorLeave, WaitlistEntry  # noqa: E402


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "patient",
        "doctor",
        "hospital",
        "date",
        "from_time",
        "to_time",
        "status",
        "hold",
        "created_at",
    ]
    list_filter = ["status", "hospital", "date"]
    search_fields = ["patient__fullname", "patient__username", "doctor__user__fullname"]
    list_select_related = ["patient", "doctor__user", "hospital", "hold"]
    raw_id_fields = ["patient", "doctor", "hospital", "hold", "created_by"]
    date_hierarchy = "date"


@admin.register(DoctorLeave)
class DoctorLeaveAdmin(ReadOnlyAdmin):
    list_display = ["id", "doctor", "hospital", "start", "end", "reason", "created_at", "deleted_at"]
    list_filter = ["hospital"]
    search_fields = ["doctor__user__fullname", "reason"]
    list_select_related = ["doctor__user", "hospital"]
    raw_id_fields = ["doctor", "hospital", "created_by", "deleted_by", "closed_slots"]
    date_hierarchy = "start"


# OPD queues (API.md section 17): read-only here; tokens and calls change only through the API's rules
# (walk-in tokens come from the queue's counter, call-next is atomic).
from appointments.queue_models import OpdQueue, QueueEntry  # noqa: E402


class QueueEntryInline(ReadOnlyInline):
    model = QueueEntry
    fields = ["token", "priority", "status", "room", "called_at", "appointment", "patient", "name"]
    raw_id_fields = ["appointment", "patient"]


@admin.register(OpdQueue)
class OpdQueueAdmin(ReadOnlyAdmin):
    list_display = ["id", "doctor", "hospital", "date", "room", "last_walk_in_token", "created_at"]
    list_filter = ["hospital", "date"]
    search_fields = ["doctor__user__fullname"]
    list_select_related = ["doctor__user", "hospital"]
    date_hierarchy = "date"
    inlines = [QueueEntryInline]


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "queue", "token", "priority", "status", "room", "called_at", "appointment", "patient"]
    list_filter = ["status", "priority", "queue__hospital"]
    search_fields = ["name", "patient__fullname", "queue__doctor__user__fullname"]
    list_select_related = ["queue__doctor__user", "appointment", "patient"]
    raw_id_fields = ["queue", "appointment", "patient", "added_by"]
