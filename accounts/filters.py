import django_filters

from accounts.models import User


class UserFilter(django_filters.FilterSet):
    hospital_id = django_filters.NumberFilter(field_name="hospital_id")
    role = django_filters.ChoiceFilter(choices=User.Role.choices)

    class Meta:
        model = User
        fields = ["role", "hospital_id", "is_active"]
