import django_filters

from emergency.models import Ambulance, Emergency
from hms.api.filters import FilterSet, with_from_to
from hms.api.status_filters import StatusInFilter


class AmbulanceFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Ambulance.Status.choices)
    ambulance_type = django_filters.ChoiceFilter(choices=Ambulance.AmbulanceType.choices)

    class Meta:
        model = Ambulance
        fields = ["hospital_id", "driver_id", "status", "ambulance_type"]


class EmergencyFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Emergency.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Emergency.Severity.choices)
    emergency_type = django_filters.ChoiceFilter(choices=Emergency.EmergencyType.choices)
    is_open = StatusInFilter(statuses=Emergency.OPEN_STATUSES, label="Open (not resolved or cancelled)")
    unassigned = django_filters.BooleanFilter(
        field_name="hospital", lookup_expr="isnull", label="No hospital assigned yet (address-only reports)"
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Emergency
        fields = ["hospital_id", "ambulance_id", "reporter_id", "status", "severity", "emergency_type"]


with_from_to(EmergencyFilter, field_name="created_at", what="reported")
