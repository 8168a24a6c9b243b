import django_filters

from accounts.models import User
from hms.api.filters import FilterSet


class UserFilter(FilterSet):
    role = django_filters.ChoiceFilter(choices=User.Role.choices)
    # An unreadable value (`is_active=maybe`) is a 400 from hms.api.filters.FilterBackend.
    is_active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = User
        fields = ["role", "hospital_id", "is_active"]
