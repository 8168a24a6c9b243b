import django_filters

from accounts.models import Activity
from hms.api.filters import FilterSet


class ActivityFilter(FilterSet):
    action = django_filters.ChoiceFilter(choices=Activity.Action.choices)
    object_type = django_filters.CharFilter(field_name="object_type", max_length=50)
    at_from = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", label="from")
    at_to = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte", label="to")

    class Meta:
        model = Activity
        fields = ["actor_id", "patient_id", "action", "object_type"]


# `from` and `to` are Python keywords, so the filters are declared under other names and renamed.
ActivityFilter.base_filters["from"] = ActivityFilter.base_filters.pop("at_from")
ActivityFilter.base_filters["to"] = ActivityFilter.base_filters.pop("at_to")
