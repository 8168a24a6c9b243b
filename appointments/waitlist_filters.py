"""Query filters of the waitlist and doctor leave (django-filter)."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from appointments.models import Hold
from appointments.waitlist_models import DoctorLeave, WaitlistEntry
from hms.api.filters import FilterSet


class WaitlistFilter(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=WaitlistEntry.Status.choices,
        method="filter_status",
        label="As shown: an offer whose hold has lapsed is expired.",
    )
    date = django_filters.DateFilter(field_name="date")

    class Meta:
        model = WaitlistEntry
        fields = ["status", "doctor_id", "patient_id", "hospital_id", "date"]

    def filter_status(self, queryset, name, value):
        offered = Q(status=WaitlistEntry.Status.OFFERED)
        lapsed = offered & (~Q(hold__status=Hold.Status.ACTIVE) | Q(hold__expires_at__lte=timezone.now()))
        if value == WaitlistEntry.Status.OFFERED:
            return queryset.filter(offered).exclude(lapsed)
        if value == WaitlistEntry.Status.EXPIRED:
            return queryset.filter(Q(status=value) | lapsed)
        return queryset.filter(status=value)


class LeaveFilter(FilterSet):
    class Meta:
        model = DoctorLeave
        fields = []
