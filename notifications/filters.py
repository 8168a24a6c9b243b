import django_filters

from hms.api.filters import FilterSet
from notifications.models import Category, Notification


class NotificationFilter(FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", help_text="true: only notifications not read yet.")
    category = django_filters.ChoiceFilter(choices=Category.choices)

    class Meta:
        model = Notification
        fields = ["unread", "category"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value)
