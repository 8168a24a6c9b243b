"""What the appointment serializers share: hospital-local times."""

from zoneinfo import ZoneInfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def local_iso(value, zone_name: str) -> str:
    """ISO 8601 with the hospital's offset, e.g. `2026-03-30T09:00:00+01:00`."""
    return value.astimezone(ZoneInfo(zone_name)).isoformat()


class TimeZoneAwareInputField(serializers.DateTimeField):
    """Keeps a naive input naive, so the service can read it as the hospital's local time."""

    offset_optional = True  # hms.api.strict / hms.api.schema: RFC 3339 with or without the offset

    def enforce_timezone(self, value):
        return value


@extend_schema_field(OpenApiTypes.DATETIME)
class HospitalTimeField(serializers.ReadOnlyField):
    """A moment (`source`, e.g. `slot.start`) shown with the offset of the object's hospital."""

    def get_attribute(self, instance):
        return local_iso(super().get_attribute(instance), instance.hospital.timezone)
