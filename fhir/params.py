"""Reading FHIR search parameters: dates with prefixes, references, tokens, `_count` and paging.

Every malformed value is a `ValidationError` (400 OperationOutcome), never an exception of Python's.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from rest_framework.exceptions import ValidationError

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 1_000_000
MAX_DB_INT = 2**63 - 1

# A FHIR date, dateTime or instant, as a search value (RFC 3339 with the precision optional).
_DATE = re.compile(
    r"^(?P<year>[0-9]{4})(-(?P<month>[0-9]{2})(-(?P<day>[0-9]{2})"
    r"(T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(:(?P<second>[0-9]{2})(?P<fraction>\.[0-9]{1,6})?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$"
)
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")


def invalid(parameter: str, message: str) -> ValidationError:
    return ValidationError({parameter: [message]}, code="invalid")


@dataclass(frozen=True)
class DateValue:
    """A searched date: its prefix and the instants it covers, [start, end), local to `zone` when it
    carries no offset of its own (`zone` is then None and the caller supplies the time zone)."""

    prefix: str
    naive_start: datetime
    naive_end: datetime
    offset_zone: object  # a tzinfo when the value named its offset, else None

    def bounds(self, zone) -> tuple[datetime, datetime]:
        tz = self.offset_zone or zone
        return self.naive_start.replace(tzinfo=tz), self.naive_end.replace(tzinfo=tz)

    def condition(self, field: str, zone) -> Q:
        start, end = self.bounds(zone)
        if self.prefix == "eq":
            return Q(**{f"{field}__gte": start, f"{field}__lt": end})
        if self.prefix == "ne":
            return Q(**{f"{field}__lt": start}) | Q(**{f"{field}__gte": end})
        if self.prefix == "ge":
            return Q(**{f"{field}__gte": start})
        if self.prefix == "gt":
            return Q(**{f"{field}__gte": end})
        if self.prefix == "le":
            return Q(**{f"{field}__lt": end})
        return Q(**{f"{field}__lt": start})  # lt


def parse_date(parameter: str, text: str) -> DateValue:
    prefix = text[:2] if text[:2] in DATE_PREFIXES else "eq"
    value = text[2:] if text[:2] in DATE_PREFIXES else text
    # An offset's "+" sent unencoded in a query string arrives as a space.
    value = value.replace(" ", "+")
    match = _DATE.match(value)
    if match is None:
        raise invalid(parameter, f"'{text[:40]}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime).")
    parts = match.groupdict()
    try:
        year, month, day = int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1)
        hour, minute = int(parts["hour"] or 0), int(parts["minute"] or 0)
        second = int(parts["second"] or 0)
        micro = int((parts["fraction"] or ".0")[1:].ljust(6, "0"))
        start = datetime(year, month, day, hour, minute, second, micro)  # noqa: DTZ001 - zone added later
        if parts["month"] is None:
            end = start.replace(year=year + 1)
        elif parts["day"] is None:
            end = start.replace(year=year + 1, month=1) if month == 12 else start.replace(month=month + 1)
        elif parts["hour"] is None:
            end = start + timedelta(days=1)
        elif parts["second"] is None:
            end = start + timedelta(minutes=1)
        elif parts["fraction"] is None:
            end = start + timedelta(seconds=1)
        else:
            end = start + timedelta(microseconds=1)
        offset_zone = None
        if parts["offset"]:
            offset_zone = datetime.fromisoformat(f"2000-01-01T00:00:00{parts['offset']}".replace("Z", "+00:00")).tzinfo
    except (ValueError, OverflowError) as exc:
        raise invalid(parameter, f"'{text[:40]}' is not a valid date.") from exc
    if not 1800 <= year <= 9000:
        raise invalid(parameter, f"'{text[:40]}' is out of the range of dates the server can search.")
    return DateValue(prefix, start, end, offset_zone)


def date_condition(parameter: str, values: list[str], field: str, zone_field: str | None, zones: list[str]) -> Q:
    """All the values ANDed; a value without an offset is read in each row's hospital time zone
    (`zone_field`, e.g. `hospital__timezone`, over the time zones in use), else in `zones[0]`."""
    condition = Q()
    for text in values:
        for item in text.split(","):
            date = parse_date(parameter, item)
            if date.offset_zone is not None or zone_field is None or len(zones) == 1:
                # One zone in use (the usual case): a plain range, which the time indexes serve.
                condition &= date.condition(field, date.offset_zone or ZoneInfo(zones[0]))
                continue
            per_zone = Q(pk__in=[])
            for zone in zones:
                per_zone |= Q(**{zone_field: zone}) & date.condition(field, ZoneInfo(zone))
            condition &= per_zone
    return condition


def reference_ids(parameter: str, values: list[str], resource_type: str) -> list[str]:
    """The ids named by reference values (`Patient/5`, `5`, or an absolute URL ending in `Patient/5`),
    comma-separated values ORed. A reference to another type names nothing (matches no row)."""
    ids = []
    for text in values:
        for item in text.split(","):
            item = item.strip().rstrip("/")
            if not item:
                raise invalid(parameter, "A reference value is empty.")
            parts = item.split("/")
            if len(parts) == 1:
                ids.append(parts[0])
            elif parts[-2] == resource_type:
                ids.append(parts[-1])
    return ids


def integer_ids(ids: list[str]) -> list[int]:
    """The ids that are HMS integer ids (others name nothing)."""
    return [int(value) for value in ids if value.isascii() and value.isdigit() and int(value) <= MAX_DB_INT]


def prefixed_ids(ids: list[str], prefix: str) -> list[int]:
    """`hospital-5` -> 5 for the ids carrying `prefix-`."""
    return integer_ids([value[len(prefix) + 1 :] for value in ids if value.startswith(prefix + "-")])


def tokens(values: list[str]) -> list[list[str]]:
    """Token values: each parameter occurrence a list of codes (ORed), occurrences ANDed; a
    `system|code` value keeps its code."""
    return [[item.split("|")[-1] for item in text.split(",")] for text in values]


def count_value(values: list[str]) -> int:
    if not values:
        return DEFAULT_COUNT
    text = values[-1]
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise invalid("_count", "_count is a whole number from 0 (the total only) to 100.")
    return min(int(text), MAX_COUNT)


def offset_value(values: list[str]) -> int:
    if not values:
        return 0
    text = values[-1]
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) > MAX_OFFSET:
        raise invalid("_offset", "_offset is a whole number of matches to skip (from the next link).")
    return int(text)
