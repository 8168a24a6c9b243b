"""Query filters (django-filter). `date` is the hospital-local date; `from`/`to` take a date or a date-time."""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.drainage import set_override

from appointments.models import Appointment, Doctor, Hold, OpdSchedule, Slot, SlotQuerySet, Visit
from hms.api.filters import OFFSET_REFUSED, FilterSet, offset_refused  # FilterSet: an FK filters by id
from hms.api.kept_lists import read_instant


class NameFilter(django_filters.CharFilter):
    """A specialization or department: matched ignoring case, at most as long as the field (100)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "iexact")
        kwargs.setdefault("max_length", 100)
        super().__init__(*args, **kwargs)


class MomentField(forms.Field):
    default_error_messages = {"invalid": "Enter an ISO 8601 date (YYYY-MM-DD) or date-time."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        # A bare date first: Python's fromisoformat would read it as midnight.
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is not None:
            return day
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if offset_refused(moment):
            raise forms.ValidationError(OFFSET_REFUSED, code="invalid")
        return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment


class MomentFilter(django_filters.Filter):
    """`from`/`to`: a date-time (naive = UTC) compares with the start; a date with the local date, inclusive."""

    field_class = MomentField

    def __init__(self, *, datetime_field: str, date_field: str, bound: str, **kwargs):
        super().__init__(field_name=datetime_field, **kwargs)
        self.datetime_field, self.date_field, self.bound = datetime_field, date_field, bound

    def filter(self, qs, value):
        if value is None:
            return qs
        field = self.datetime_field if isinstance(value, datetime) else self.date_field
        return qs.filter(**{f"{field}__{self.bound}": value})


def _with_from_to(filterset, *, datetime_field: str, date_field: str, label: str, day="the hospital-local date"):
    """`from` and `to` are Python keywords, so they are added after the class is built."""
    for name, bound, words in (("from", "gte", "on or after"), ("to", "lte", "on or before")):
        moment = MomentFilter(datetime_field=datetime_field, date_field=date_field, bound=bound)
        description = (
            f"{label} {words} this ISO 8601 date-time (without an offset: UTC), or this date (YYYY-MM-DD, {day})."
        )
        set_override(moment, "field", {"type": "string", "description": description})
        filterset.base_filters[name] = moment
    return filterset


class DoctorFilter(FilterSet):
    specialization = NameFilter()
    department = NameFilter()

    class Meta:
        model = Doctor
        fields = ["hospital_id", "specialization", "department", "is_available"]


class OpdScheduleFilter(FilterSet):
    department = NameFilter()

    class Meta:
        model = OpdSchedule
        fields = ["hospital_id", "doctor_id", "department", "is_active"]


class SlotFilter(FilterSet):
    specialization = NameFilter(field_name="doctor__specialization")
    department = NameFilter(field_name="doctor__department")
    date = django_filters.DateFilter(field_name="local_date", label="The hospital-local date (YYYY-MM-DD).")
    status = django_filters.ChoiceFilter(choices=Slot.Status.choices)
    available = django_filters.BooleanFilter(
        method="filter_available",
        label="true: open, in the future, free capacity, doctor available, hospital OPD not closed.",
    )

    class Meta:
        model = Slot
        fields = ["hospital_id", "doctor_id", "opd_schedule_id", "specialization", "department", "date", "status"]

    def filter_available(self, queryset, name, value):
        condition = SlotQuerySet.bookable_q(read_instant(self.request))
        return queryset.filter(condition) if value else queryset.exclude(condition)


_with_from_to(SlotFilter, datetime_field="start", date_field="local_date", label="Start")


class AppointmentFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Appointment.Status.choices)
    date = django_filters.DateFilter(field_name="slot__local_date", label="The hospital-local date of the slot.")

    class Meta:
        model = Appointment
        fields = ["status", "patient_id", "doctor_id", "hospital_id", "slot_id", "date"]


_with_from_to(AppointmentFilter, datetime_field="slot__start", date_field="slot__local_date", label="Slot start")


class HoldFilter(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Hold.Status.choices,
        method="filter_status",
        label="As shown: an active hold past its expires_at is expired.",
    )

    class Meta:
        model = Hold
        fields = ["status", "slot_id", "patient_id", "hospital_id"]

    def filter_status(self, queryset, name, value):
        now = timezone.now()
        if value == Hold.Status.ACTIVE:
            return queryset.filter(status=value, expires_at__gt=now)
        if value == Hold.Status.EXPIRED:
            return queryset.filter(Q(status=value) | Q(status=Hold.Status.ACTIVE, expires_at__lte=now))
        return queryset.filter(status=value)


class VisitFilter(FilterSet):
    class Meta:
        model = Visit
        fields = ["patient_id", "doctor_id", "hospital_id", "appointment_id"]


_with_from_to(VisitFilter, datetime_field="visited_at", date_field="visited_at__date", label="Visited", day="UTC")
