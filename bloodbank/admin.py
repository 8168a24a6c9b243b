import datetime

from django.contrib import admin
from django.utils import timezone

from bloodbank.models import Allocation, BloodBank, BloodRequest, Donation, StockLot
from hms.admin import NoDeleteAdmin, ReadOnlyAdmin, ReadOnlyInline


@admin.register(BloodBank)
class BloodBankAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "license_number", "hospital", "city", "phone", "is_active"]
    list_filter = ["is_active", "city"]
    search_fields = ["name", "license_number", "city"]
    list_select_related = ["hospital"]
    raw_id_fields = ["hospital"]


class ExpiryListFilter(admin.SimpleListFilter):
    """Usability is judged by date, so the admin can see lots past expiry that are not yet marked."""

    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("expired", "Expired (today or earlier)"), ("7days", "Expires within 7 days"), ("later", "Later")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "expired":
            return queryset.filter(expires_on__lte=today)
        if self.value() == "7days":
            return queryset.filter(expires_on__gt=today, expires_on__lte=today + datetime.timedelta(days=7))
        if self.value() == "later":
            return queryset.filter(expires_on__gt=today + datetime.timedelta(days=7))
        return queryset


@admin.register(StockLot)
class StockLotAdmin(NoDeleteAdmin):
    list_display = ["id", "lot_number", "blood_bank", *StockLot.CONTENT_FIELDS, "status"]
    list_filter = ["blood_group", "component", "status", ExpiryListFilter, "expires_on", "blood_bank"]
    search_fields = ["lot_number", "blood_bank__name"]
    date_hierarchy = "expires_on"
    list_select_related = ["blood_bank"]
    raw_id_fields = ["blood_bank"]
    # Units move only through allocation and cancel (under row locks); the admin may discard a lot.
    readonly_fields = ["units", "initial_units", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["initial_units", "created_at"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.initial_units = obj.units
        super().save_model(request, obj, form, change)


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fields = ["lot", "units", "returned", "created_at"]
    readonly_fields = fields


@admin.register(BloodRequest)
class BloodRequestAdmin(ReadOnlyAdmin):
    """Read-only here: approval allocates stock under locks, so it happens through the API."""

    list_display = [
        "id",
        "blood_bank",
        "patient_name",
        "blood_group",
        "component",
        "units",
        "urgency",
        "status",
        "requester",
        "created_at",
    ]
    list_filter = ["status", "urgency", "blood_group", "component", "blood_bank"]
    search_fields = ["patient_name", "requester__username", "blood_bank__name"]
    date_hierarchy = "created_at"
    list_select_related = ["blood_bank", "requester"]
    inlines = [AllocationInline]


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdmin):
    list_display = ["id", "donor", "blood_bank", "donated_on", "blood_group", "component", "units", "lot"]
    list_filter = ["component", "blood_group", "blood_bank"]
    search_fields = ["donor__username", "donor__fullname", "lot__lot_number"]
    date_hierarchy = "donated_on"
    list_select_related = ["donor", "blood_bank", "lot"]
