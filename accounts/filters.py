import django_filters

from accounts.models import User


class UserFilter(django_filters.FilterSet):
    hospital_id = django_filters.NumberFilter(field_name="hospital_id")
    role = django_filters.ChoiceFilter(choices=User.Role.choices)
    # django-filter's BooleanFilter silently ignores a value it cannot read; this one answers 400.
    is_active = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )

    class Meta:
        model = User
        fields = ["role", "hospital_id", "is_active"]
