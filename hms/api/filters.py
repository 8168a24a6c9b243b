import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError

BOOLEAN_VALUES = {"true", "false", "1", "0"}


class FilterBackend(DjangoFilterBackend):
    """django-filter, except that a typed filter with an empty or unreadable value is a 400, not ignored."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors = {}
        for name, filter_ in filterset.filters.items():
            if name not in request.query_params or isinstance(filter_, django_filters.CharFilter):
                continue
            value = request.query_params.get(name, "").strip()
            if value == "":
                errors[name] = ["This filter needs a value."]
            elif isinstance(filter_, django_filters.BooleanFilter) and value.lower() not in BOOLEAN_VALUES:
                errors[name] = ["Use true or false."]
        if errors:
            raise ValidationError(errors, code="invalid")
        return filterset


class SearchFilter(filters.SearchFilter):
    """DRF's `?search=`, documented only where the view declares `search_fields` (elsewhere it does nothing)."""

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)
