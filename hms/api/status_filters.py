import django_filters


class StatusInFilter(django_filters.BooleanFilter):
    """A yes/no filter on whether a row's status is one of `statuses` (e.g. `?is_open=`): true keeps those
    rows, false the others, absent all."""

    def __init__(self, *args, statuses, **kwargs):
        kwargs.setdefault("field_name", "status")
        super().__init__(*args, **kwargs)
        self.statuses = tuple(statuses)

    def filter(self, qs, value):
        if value is None:
            return qs
        lookup = {f"{self.field_name}__in": self.statuses}
        return qs.filter(**lookup) if value else qs.exclude(**lookup)
