from django.contrib import admin

from emergency.models import Ambulance, AmbulanceLocation, Emergency, EmergencyEvent
from hms.admin import NoAddAdmin, NoDeleteAdmin, ReadOnlyInline


class AmbulanceLocationInline(ReadOnlyInline):
    model = AmbulanceLocation
    fields = ["recorded_at", "latitude", "longitude", "recorded_by"]
    readonly_fields = fields
    ordering = ["-recorded_at", "-id"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(Ambulance)
class AmbulanceAdmin(NoDeleteAdmin):
    """Status follows emergencies (API actions); it is shown, not edited, here."""

    list_display = ["id", "vehicle_number", "hospital", "ambulance_type", "driver", "status", "location_updated_at"]
    list_filter = ["status", "ambulance_type", "hospital"]
    search_fields = ["vehicle_number", "driver__username", "driver__fullname"]
    list_select_related = ["hospital", "driver"]
    raw_id_fields = ["hospital", "driver"]
    readonly_fields = ["status", "latitude", "longitude", "location_updated_at", "created_at", "updated_at"]
    inlines = [AmbulanceLocationInline]


class EmergencyEventInline(ReadOnlyInline):
    model = EmergencyEvent
    fields = ["at", "status", "actor", "note", "from_hospital", "to_hospital"]
    readonly_fields = fields
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "from_hospital", "to_hospital")


@admin.register(Emergency)
class EmergencyAdmin(NoAddAdmin):
    """Status, hospital and ambulance change through the API (dispatch, status, forward) so events stay whole."""

    list_display = [
        "id",
        "created_at",
        "emergency_type",
        "severity",
        "status",
        "hospital",
        "ambulance",
        "contact_number",
    ]
    list_filter = ["status", "severity", "emergency_type", "hospital"]
    search_fields = ["patient_name", "contact_number", "address"]
    date_hierarchy = "created_at"
    list_select_related = ["hospital", "ambulance"]
    readonly_fields = [
        "reporter",
        "status",
        "hospital",
        "ambulance",
        "latitude",
        "longitude",
        "created_at",
        "updated_at",
    ]
    inlines = [EmergencyEventInline]
