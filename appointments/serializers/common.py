"""What the appointment serializers share: hospital-local times, moments written as DRF writes them."""

from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import ISO_8601, api_settings

from hms.api.serializers import MAX_ID as _MAX_ID


@lru_cache(maxsize=8192)
def local_iso(value, zone_name: str) -> str:
    """ISO 8601 with the hospital's offset, e.g. `2026-03-30T09:00:00+01:00`. Kept per (instant, zone):
    a hospital's slots start and end on the same few times of day, and the same pages are read again
    and again (a page of 50 slots writes 100 of these; about 1.1 µs each computed, 0.2 kept)."""
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


def moment_writer(field: serializers.DateTimeField):
    """`field.to_representation` for the moments of one answer (aware datetimes, none of them null), with
    the time zone read once instead of per value (DRF reads the current one from a context-local each
    time). A field with another format or its own time-zone handling keeps its own method."""
    if (
        type(field).to_representation is not serializers.DateTimeField.to_representation
        or type(field).enforce_timezone is not serializers.DateTimeField.enforce_timezone
        or str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() != ISO_8601
    ):
        return field.to_representation
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None:
        return field.to_representation

    def write(value, zone=zone):
        if not value or value.utcoffset() is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # DRF's own refusal
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


@cache
def _fields_of(serializer_class, names: tuple) -> tuple:
    fields = serializer_class().fields
    return tuple(fields[name] for name in names)


def moment_writers(serializer_class, *names: str) -> tuple:
    """The `moment_writer`s of the named moments of `serializer_class`, for one answer: the serializer's
    fields are built once per process, the current time zone is read on each call."""
    return tuple(moment_writer(field) for field in _fields_of(serializer_class, names))


def plain_body(data, *, ids=(), texts=None) -> dict | None:
    """What an input serializer of optional fields would validate a JSON body to, for the plain bodies
    the hot writes receive, or None: then the serializer itself decides (and words any refusal).

    Plain means: an object (or no body) whose every key is one of `ids`, each a JSON integer in 1 ..
    MAX_ID (IdField), or one of `texts` ({name: max_length}), each an ASCII string without surrounding
    whitespace or NUL, no longer than its limit (a CharField that allows blank). Anything else, an
    unknown key too (DRF would drop it), is left to the serializer."""
    if isinstance(data, QueryDict):
        return None if data else {}  # a form body: query-string rules; no body at all: no field given
    if type(data) is not dict:
        return None  # a list, a string, ...
    texts = texts or {}
    for name, value in data.items():
        if name in ids:
            if type(value) is not int or not 1 <= value <= _MAX_ID:
                return None
        elif name in texts:
            if (
                type(value) is not str
                or len(value) > texts[name]
                or not value.isascii()
                or value != value.strip()
                or "\x00" in value
            ):
                return None
        else:
            return None
    return dict(data)
