from rest_framework.routers import SimpleRouter

# A record's id in a path: ASCII digits, at most a bigint's 19. DRF's default (`[^/.]+`) also routed
# "%093" (a tab, then 3) or "+3" to the record, because the integer lookup strips and parses them: such
# paths name no record (404). Typed in the schema from the model, as DRF's default (hms.api.schema).
ID_PATTERN = "[0-9]{1,19}"


class OptionalSlashRouter(SimpleRouter):
    """Every route answers with and without a trailing slash (DRF's routers take only a bool), and a
    record's id in a path is digits (a viewset may declare its own `lookup_value_regex`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        value = getattr(viewset, "lookup_value_regex", ID_PATTERN)
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{value})"
