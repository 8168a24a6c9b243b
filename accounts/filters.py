import django_filters

from accounts.models import User
from hms.api.filters import IdFilter


class UserFilter(django_filters.FilterSet):
    hospital_id = IdFilter(field_name="hospital_id")
    role = django_filters.ChoiceFilter(choices=User.Role.choices)

    class Meta:
        model = User
        fields = ["role", "hospital_id", "is_active"]
