"""Query-parameter filters (django-filter) for hospitals, floors, wards, beds and admissions."""

import django_filters
from django import forms
from rest_framework import serializers

from hms.api.filters import FilterSet
from hospitals import geo
from hospitals.models import Admission, Bed, BedStatus, BedType, Floor, Hospital, Ward, WardType
from hospitals.selectors import with_available_beds

MAX_RADIUS_KM = 20_038.0  # half the Earth's circumference: every point is within it.
HAS_BEDS_ANY = "any"


class PointFormField(forms.CharField):
    """'<lat>,<lng>' -> (lat, lng), range-checked."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        try:
            return geo.parse_point(value)
        except serializers.ValidationError as exc:
            raise forms.ValidationError(str(exc.detail[0]), code="invalid") from exc


class StrictBooleanFormField(forms.NullBooleanField):
    """`true`/`false` (or 1/0); anything else is a 400 rather than being silently ignored."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "True", "true", "1"):
            return True
        if value in (False, "False", "false", "0"):
            return False
        raise forms.ValidationError("Expected true or false.", code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanFormField


class PointFilter(django_filters.Filter):
    field_class = PointFormField


class HospitalFilter(FilterSet):
    city = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    hospital_type = django_filters.ChoiceFilter(choices=Hospital.HospitalType.choices)
    opd_status = django_filters.ChoiceFilter(choices=Hospital.OpdStatus.choices)
    emergency_services = BooleanFilter()
    is_active = BooleanFilter(help_text="Administrators only: deactivated hospitals are listed with `is_active=false`.")
    has_beds = django_filters.ChoiceFilter(
        choices=[*WardType.choices, (HAS_BEDS_ANY, "Any")],
        method="filter_has_beds",
        help_text="Hospitals with at least one available bed of this ward type (`any`: of any type).",
    )
    has_bed_type = django_filters.ChoiceFilter(
        choices=BedType.choices,
        method="filter_has_bed_type",
        help_text="Hospitals with at least one free bed of this bed type (a lapsed reservation counts as free).",
    )
    near = PointFilter(
        method="filter_near",
        help_text="`<latitude>,<longitude>`: hospitals within `radius_km`, nearest first, with `distance_km`.",
    )
    radius_km = django_filters.NumberFilter(
        method="filter_radius",
        min_value=0.001,
        max_value=MAX_RADIUS_KM,
        help_text=f"Radius for `near`, in km (default {geo.DEFAULT_RADIUS_KM:g}).",
    )

    class Meta:
        model = Hospital
        fields = ["city", "hospital_type", "opd_status", "emergency_services", "is_active"]

    def filter_has_beds(self, queryset, name, value):
        return with_available_beds(queryset, ward_type=None if value == HAS_BEDS_ANY else value)

    def filter_has_bed_type(self, queryset, name, value):
        return with_available_beds(queryset, bed_type=value)

    def filter_near(self, queryset, name, value: str):
        # Applied last in filter_queryset, after every other filter has narrowed the rows.
        return queryset

    def filter_radius(self, queryset, name, value: float):
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if data.get("is_active") is None:
            queryset = queryset.filter(is_active=True)
        point, radius = data.get("near"), data.get("radius_km")
        if point is None:
            if radius is not None:
                raise serializers.ValidationError({"radius_km": ["radius_km needs near=<lat>,<lng>."]}, code="invalid")
            return queryset
        return geo.nearest(queryset, *point, radius_km=float(radius) if radius is not None else geo.DEFAULT_RADIUS_KM)


class FloorFilter(FilterSet):
    class Meta:
        model = Floor
        fields = ["hospital_id"]


class WardFilter(FilterSet):
    ward_type = django_filters.ChoiceFilter(choices=WardType.choices)

    class Meta:
        model = Ward
        fields = ["hospital_id", "floor_id", "ward_type"]


class BedFilter(FilterSet):
    ward_type = django_filters.ChoiceFilter(field_name="ward__ward_type", choices=WardType.choices)
    bed_type = django_filters.ChoiceFilter(choices=BedType.choices)
    status = django_filters.ChoiceFilter(
        choices=BedStatus.choices,
        method="filter_status",
        help_text="The status as shown: a bed whose reservation has lapsed is `available`.",
    )

    class Meta:
        model = Bed
        fields = ["hospital_id", "ward_id", "ward_type", "bed_type", "status"]

    def filter_status(self, queryset, name, value):
        return queryset.shown_as(value)


class AdmissionFilter(FilterSet):
    active = BooleanFilter(field_name="discharged_at", lookup_expr="isnull", help_text="true: not yet discharged.")

    class Meta:
        model = Admission
        fields = ["hospital_id", "bed_id", "patient_id", "active"]
