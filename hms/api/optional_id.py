"""An id the caller may leave out (or send as null) for the service to choose one itself."""

from hms.api.serializers import IdField


def OptionalIdField(*, help_text: str):  # noqa: N802 - reads like a field class
    """A body's `<name>_id` that may be left out or null: the service then picks the row itself (the first
    free bed, the nearest available ambulance); `help_text` says which."""
    return IdField(required=False, allow_null=True, help_text=help_text)
