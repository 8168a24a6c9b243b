import django_filters
from django.db.models import Sum
from rest_framework import serializers

from accounts.models import BloodGroup
from bloodbank.models import BloodBank, BloodRequest, Component, Donation, StockLot
from hms.api.filters import FilterSet
from hospitals import geo


class BloodBankFilter(FilterSet):
    """`blood_group`, `component` and `min_units` together: banks holding at least `min_units` usable
    units of exactly that group and component (each optional; `min_units` defaults to 1 when a group
    or component is given). `near=<lat>,<lng>` with `radius_km` (default 50): nearest first."""

    city = django_filters.CharFilter(field_name="city", lookup_expr="iexact", max_length=100)
    blood_group = django_filters.ChoiceFilter(choices=BloodGroup.choices, method="filter_by_stock")
    component = django_filters.ChoiceFilter(choices=Component.choices, method="filter_by_stock")
    min_units = django_filters.NumberFilter(min_value=1, max_value=100000, method="filter_by_stock")
    near = django_filters.CharFilter(
        method="filter_by_stock", max_length=64, help_text="`<latitude>,<longitude>`: banks within `radius_km`."
    )
    radius_km = django_filters.NumberFilter(
        min_value=0.1, max_value=1000, method="filter_by_stock", help_text="Radius for `near` (default 50)."
    )

    class Meta:
        model = BloodBank
        fields = ["city", "hospital_id", "is_active"]

    def filter_by_stock(self, queryset, name, value):
        # Applied together in filter_queryset: the stock filter needs all three values at once.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        blood_group, component, min_units = data.get("blood_group"), data.get("component"), data.get("min_units")
        if blood_group or component or min_units:
            lots = StockLot.objects.usable()
            if blood_group:
                lots = lots.filter(blood_group=blood_group)
            if component:
                lots = lots.filter(component=component)
            holding = (
                lots.order_by()
                .values("blood_bank_id")
                .annotate(total=Sum("units"))
                .filter(total__gte=int(min_units or 1))
                .values("blood_bank_id")
            )
            queryset = queryset.filter(pk__in=holding)
        if data.get("near"):
            try:
                lat, lng = geo.parse_point(data["near"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"near": exc.detail}) from exc
            radius = float(data["radius_km"]) if data.get("radius_km") else geo.DEFAULT_RADIUS_KM
            queryset = geo.nearest(queryset, lat, lng, radius)
        return queryset


class BloodRequestFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=BloodRequest.Status.choices)
    urgency = django_filters.ChoiceFilter(choices=BloodRequest.Urgency.choices)
    blood_group = django_filters.ChoiceFilter(choices=BloodGroup.choices)
    component = django_filters.ChoiceFilter(choices=Component.choices)

    class Meta:
        model = BloodRequest
        fields = ["blood_bank_id", "hospital_id", "requester_id", "status", "urgency", "blood_group", "component"]


class DonationFilter(FilterSet):
    component = django_filters.ChoiceFilter(choices=Component.choices)
    blood_group = django_filters.ChoiceFilter(choices=BloodGroup.choices)

    class Meta:
        model = Donation
        fields = ["donor_id", "blood_bank_id", "component", "blood_group"]


class StockLotFilter(FilterSet):
    blood_group = django_filters.ChoiceFilter(choices=BloodGroup.choices)
    component = django_filters.ChoiceFilter(choices=Component.choices)
    status = django_filters.ChoiceFilter(choices=StockLot.Status.choices)
    expires_before = django_filters.DateFilter(
        field_name="expires_on", lookup_expr="lt", label="Lots expiring before this date (YYYY-MM-DD)."
    )

    class Meta:
        model = StockLot
        fields = ["blood_group", "component", "status", "expires_before"]
