import django_filters

from hms.api.filters import FilterSet, with_from_to
from hms.api.status_filters import StatusInFilter
from hospitals.models import BedType
from transfers.models import Referral, Urgency


class ReferralFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Referral.Status.choices)
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    bed_type = django_filters.ChoiceFilter(choices=BedType.choices)
    is_open = StatusInFilter(statuses=Referral.OPEN_STATUSES, label="Open (requested, accepted or in transit)")

    class Meta:
        model = Referral
        fields = ["status", "from_hospital_id", "to_hospital_id", "patient_id", "urgency", "bed_type"]


with_from_to(ReferralFilter, field_name="created_at", what="requested")
