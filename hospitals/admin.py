from django import forms
from django.contrib import admin
from rest_framework.exceptions import ValidationError as ApiValidationError

from hms.admin import NoDeleteAdmin, ReadOnlyAdmin
from hospitals import structure
from hospitals.models import RESERVATION_FIELDS, Admission, Bed, Floor, Hospital, Ward


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "registration_number",
        "hospital_type",
        "city",
        "opd_status",
        "emergency_services",
        "is_active",
    ]
    list_filter = ["hospital_type", "opd_status", "emergency_services", "is_active", "is_multi_level"]
    search_fields = ["name", "registration_number", "city"]


class FloorForm(forms.ModelForm):
    class Meta:
        model = Floor
        fields = ["hospital", "floor_number", "name"]

    def clean_hospital(self):
        hospital = self.cleaned_data["hospital"]
        if hospital is not None and not hospital.is_multi_level:
            raise forms.ValidationError("A single-level hospital has no floors; add its wards directly.")
        return hospital


@admin.register(Floor)
class FloorAdmin(admin.ModelAdmin):
    form = FloorForm
    list_display = ["id", "hospital", "floor_number", "name"]
    list_select_related = ["hospital"]
    list_filter = ["hospital"]
    search_fields = ["floor_number", "name", "hospital__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["hospital"] if obj is not None else []


class WardForm(forms.ModelForm):
    class Meta:
        model = Ward
        fields = ["hospital", "floor", "name", "ward_number", "ward_type"]

    def clean(self):
        cleaned = super().clean()
        hospital = cleaned.get("hospital") or getattr(self.instance, "hospital", None)
        if hospital is not None:
            try:
                structure.check_ward_placement(hospital=hospital, floor=cleaned.get("floor"))
            except ApiValidationError as exc:
                raise forms.ValidationError({"floor": [str(m) for m in exc.detail.get("floor_id", [])]}) from exc
        return cleaned


class BedInline(admin.TabularInline):
    """Beds of the ward; status changes go through the API's bed operations, so it is shown read-only."""

    model = Bed
    fields = ["bed_number", "status"]
    readonly_fields = ["status"]
    extra = 1
    show_change_link = True

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Ward)
class WardAdmin(admin.ModelAdmin):
    form = WardForm
    inlines = [BedInline]
    list_display = ["id", "name", "ward_number", "ward_type", "hospital", "floor"]
    list_select_related = ["hospital", "floor"]
    list_filter = ["ward_type", "hospital"]
    search_fields = ["name", "ward_number", "hospital__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["hospital"] if obj is not None else []

    def save_formset(self, request, form, formset, change):
        # A bed's hospital is its ward's (denormalised for fast availability queries).
        for bed in formset.save(commit=False):
            bed.hospital_id = form.instance.hospital_id
            bed.save()
        formset.save_m2m()


@admin.register(Bed)
class BedAdmin(NoDeleteAdmin):
    list_display = ["id", "bed_number", "bed_type", "ward", "hospital", "status", "reserved_until"]
    list_select_related = ["ward", "hospital"]
    list_filter = ["status", "bed_type", "ward__ward_type", "hospital"]
    search_fields = ["bed_number", "ward__name", "hospital__name"]
    fields = ["ward", "bed_number", "bed_type", "hospital", "status", *RESERVATION_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        # Moving a bed between hospitals or changing occupancy or reservations here would bypass the bed
        # operations' rules.
        read_only = ["hospital", "status", *RESERVATION_FIELDS]
        return ["ward", *read_only] if obj is not None else read_only

    def save_model(self, request, obj, form, change):
        obj.hospital_id = obj.ward.hospital_id
        super().save_model(request, obj, form, change)


@admin.register(Admission)
class AdmissionAdmin(ReadOnlyAdmin):
    """Read-only: admissions change only through the bed operations of the API."""

    list_display = ["id", "patient_name", "patient", "hospital", "bed", "admitted_at", "discharged_at"]
    list_select_related = ["patient", "hospital", "bed"]
    list_filter = ["hospital", ("discharged_at", admin.EmptyFieldListFilter)]
    search_fields = ["patient_name", "patient__username", "reason"]
    date_hierarchy = "admitted_at"
