from django.contrib import admin

from hms.admin import NoAddAdmin, ReadOnlyInline
from transfers.models import Referral, ReferralEvent


class ReferralEventInline(ReadOnlyInline):
    model = ReferralEvent
    fields = ["at", "status", "actor", "note"]
    readonly_fields = fields
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Referral)
class ReferralAdmin(NoAddAdmin):
    """Steps (accept, dispatch, complete, cancel) go through the API so beds, ambulances and events stay whole."""

    list_display = ["id", "created_at", "patient", "from_hospital", "to_hospital", "urgency", "bed_type", "status"]
    list_filter = ["status", "urgency", "bed_type"]
    search_fields = ["reason", "patient__username", "patient__fullname"]
    date_hierarchy = "created_at"
    list_select_related = ["patient", "from_hospital", "to_hospital"]
    fields = [
        "patient",
        "from_hospital",
        "to_hospital",
        "reason",
        "urgency",
        "bed_type",
        "status",
        "reserved_bed",
        "ambulance",
        "requested_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [ReferralEventInline]
