import django_filters

from accounts.models import User
from hms.api.filters import IdFilter


class UserFilter(django_filters.FilterSet):
    hospital_id = IdFilter(field_name="hospital_id")
    role = django_filters.ChoiceFilter(choices=User.Role.choices)
    # django-filter's BooleanFilter silently ignores a value it cannot read; this one answers 400.
    is_active = django_filters.ChoiceFilter(choices=[("true", "true"), ("false", "false")], method="filter_is_active")

    class Meta:
        model = User
        fields = ["role", "hospital_id", "is_active"]

    def filter_is_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "true")
