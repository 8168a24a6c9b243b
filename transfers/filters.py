import django_filters

from hms.api.filters import FilterSet, IdFilter, with_from_to
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

    class Meta:
        model = Referral
        fields = ["status", "from_hospital_id", "to_hospital_id", "patient_id", "urgency", "bed_type"]

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        lookup = {"status__in": Referral.OPEN_STATUSES}
        return queryset.filter(**lookup) if value else queryset.exclude(**lookup)


with_from_to(ReferralFilter, field_name="created_at", what="requested")
