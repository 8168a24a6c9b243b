import re

import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError

from hms.api.per_class import once_per_class
from hms.api.serializers import MAX_ID
from hms.api.strict import DATE_PATTERN, DATETIME_PATTERN

BOOLEAN_VALUES = {"true", "false", "1", "0"}


# PostgreSQL holds UTC offsets up to 15:59: a filter's date-time beyond is refused before any statement, on
# every path alike (a statement with the value as text fails, one with it bound as a time would not).
OFFSET_REFUSED = "Give a UTC offset between -15:59 and +15:59."


def offset_refused(value) -> bool:
    """Whether a date-time (a parsed one, or RFC 3339 text ending in its offset) is beyond PostgreSQL's
    offsets."""
    if isinstance(value, str):
        return value[-3:-2] == ":" and value[-6:-5] in "+-" and int(value[-5:-3]) > 15
    offset = value.utcoffset()
    return offset is not None and abs(offset.total_seconds()) >= 16 * 3600


class IdFilter(django_filters.NumberFilter):
    """An integer id (1 .. 2**63-1); text, fractions and out-of-range numbers are a 400 naming the parameter.
    The schema says `integer` with those bounds (hms.api.schema.FilterBackendExtension)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, building its form class once per FilterSet class.

    django-filter builds a new form class (a form field per filter, labels included) for every
    request; ours depend on the FilterSet class only, so the first one is kept. Forms deep-copy their
    fields per instance, as Django does for any form class.

    A foreign key named by its column in `Meta.fields` (`hospital_id`) filters by the id: an `IdFilter`,
    not declared again in each filter set.
    """

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        if isinstance(field, models.ForeignKey) and lookup_type == "exact":
            return IdFilter, {}
        return super().filter_for_lookup(field, lookup_type)

    def get_form_class(self):
        return once_per_class(self, "_form_class", super().get_form_class)


class FilterBackend(DjangoFilterBackend):
    """django-filter, except that a typed filter with an empty or unreadable value is a 400, not ignored,
    and dates and date-times are read only in the form the schema documents."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors = {}
        for name, filter_ in filterset.filters.items():
            if name not in request.query_params or isinstance(filter_, django_filters.CharFilter):
                continue
            raw = request.query_params.get(name, "")
            value = raw.strip()
            if value == "":
                errors[name] = ["This filter needs a value."]
            elif isinstance(filter_, django_filters.BooleanFilter) and value.lower() not in BOOLEAN_VALUES:
                errors[name] = ["Use true or false."]
            elif isinstance(filter_, django_filters.IsoDateTimeFilter) and not re.fullmatch(DATETIME_PATTERN, raw):
                errors[name] = ["Enter an RFC 3339 date-time with an offset, e.g. 2026-03-10T09:00:00Z."]
            elif isinstance(filter_, django_filters.IsoDateTimeFilter) and offset_refused(raw):
                errors[name] = [OFFSET_REFUSED]
            elif isinstance(filter_, django_filters.DateFilter) and not re.fullmatch(DATE_PATTERN, raw):
                errors[name] = ["Enter a date as YYYY-MM-DD."]
        if errors:
            raise ValidationError(errors, code="invalid")
        return filterset


class SearchFilter(filters.SearchFilter):
    """DRF's `?search=`, documented only where the view declares `search_fields` (elsewhere it does nothing)."""

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


def with_from_to(filterset, *, field_name: str, what: str):
    """`from` and `to` on a date-time field, inclusive (Python keywords: added after the class is built).
    They are the time window a CSV export caps (hms.api.exports)."""
    for name, lookup, words in (("from", "gte", "at or after"), ("to", "lte", "at or before")):
        filterset.base_filters[name] = django_filters.IsoDateTimeFilter(
            field_name=field_name, lookup_expr=lookup, label=f"{name}: {what} {words} this date-time."
        )
    return filterset
