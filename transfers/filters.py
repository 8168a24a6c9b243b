import django_filters

from hms.api.filters import FilterSet, IdFilter
from hospitals.models import BedType
from transfers.models import Referral, Urgency


class ReferralFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Referral.Status.choices)
    from_hospital_id = IdFilter(field_name="from_hospital_id")
    to_hospital_id = IdFilter(field_name="to_hospital_id")
    patient_id = IdFilter(field_name="patient_id")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    bed_type = django_filters.ChoiceFilter(choices=BedType.choices)
    is_open = django_filters.BooleanFilter(method="filter_is_open", label="Open (requested, accepted or in transit)")
    created_from = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="from: requested at or after."
    )
    created_to = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lte", label="to: requested at or before."
    )

    class Meta:
        model = Referral
        fields = ["status", "from_hospital_id", "to_hospital_id", "patient_id", "urgency", "bed_type"]

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        lookup = {"status__in": Referral.OPEN_STATUSES}
        return queryset.filter(**lookup) if value else queryset.exclude(**lookup)


# `from` and `to` (the time window every list names so) are Python keywords: declared under other names.
ReferralFilter.base_filters["from"] = ReferralFilter.base_filters.pop("created_from")
ReferralFilter.base_filters["to"] = ReferralFilter.base_filters.pop("created_to")
