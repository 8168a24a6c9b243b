"""Strict JSON types: a JSON body must carry the type the schema documents.

DRF is lenient by default (it turns 5 into "5" for a CharField and "5" into 5 for an IntegerField).
For a JSON API that leniency hides client bugs and makes the OpenAPI schema untrue, so JSON input
is checked strictly. Query strings (a QueryDict) are text by nature and keep DRF's coercion.
"""

import datetime
import math
import re

from django.core.validators import RegexValidator, URLValidator
from django.http import QueryDict
from rest_framework import fields, relations
from rest_framework.exceptions import ValidationError

_original = {}

# A wall-clock time of day, as TimeField answers it. Python's own parser would also take "14",
# "1400" and "14:00+05:30" (dropping the offset without a word).
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
# A calendar date as the schema's `date` format reads it; Python would also take "20261125" and "2026-W48-3".
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# RFC 3339, which the schema's `date-time` format means: Python would also read "2026-11-25",
# "2026-11-25 10:00" and no offset at all (then taken as server time).
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
# The same with the offset optional, for a DateTimeField with `offset_optional = True` (a time
# without an offset is then local to something the field's owner knows, e.g. the hospital).
LOCAL_DATETIME_PATTERN = DATETIME_PATTERN.replace("[0-9]{2}:[0-9]{2})$", "[0-9]{2}:[0-9]{2})?$")


def _from_json(field) -> bool:
    root = field.root
    data = getattr(root, "initial_data", None)
    return not isinstance(data, QueryDict)


def _char(self, data):
    if _from_json(self) and not isinstance(data, str):
        self.fail("invalid")
    return _original["char"](self, data)


def _char_run_validation(self, data=fields.empty):
    # The schema documents a RegexValidator as `pattern`, which applies to the value as sent. DRF
    # checks it after trimming whitespace (and lets whitespace-only through as blank), and Python's
    # `$` also matches before a final newline: so the raw string must match the whole pattern.
    if isinstance(data, str) and data != "" and _from_json(self):
        # Likewise the schema's `maxLength`: DRF counts after trimming, so a value one character over
        # the limit with a leading space (or any character Python counts as whitespace) got through.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        for validator in self.validators:
            pattern = isinstance(validator, RegexValidator) and not isinstance(validator, URLValidator)
            if pattern and not validator.inverse_match and not validator.regex.fullmatch(data):
                raise ValidationError(validator.message, code=validator.code)
    return _original["char_run_validation"](self, data)


def _integer(self, data):
    if _from_json(self) and (
        isinstance(data, (bool, str)) or (isinstance(data, float) and (not math.isfinite(data) or data != int(data)))
    ):
        self.fail("invalid")
    return _original["integer"](self, data)


def _float(self, data):
    if _from_json(self) and isinstance(data, (bool, str)):
        self.fail("invalid")
    value = _original["float"](self, data)
    if not math.isfinite(value):
        self.fail("invalid")
    return value


def _boolean(self, data):
    if _from_json(self) and not isinstance(data, bool) and not (data is None and self.allow_null):
        self.fail("invalid", input=data)
    return _original["boolean"](self, data)


def _time(self, data):
    wall_clock = isinstance(data, datetime.time) or (isinstance(data, str) and re.fullmatch(TIME_PATTERN, data))
    if _from_json(self) and not wall_clock:
        self.fail("invalid", format="hh:mm[:ss[.uuuuuu]]")
    return _original["time"](self, data)


def _date(self, data):
    calendar_date = isinstance(data, datetime.date) or (isinstance(data, str) and re.fullmatch(DATE_PATTERN, data))
    if _from_json(self) and not calendar_date:
        self.fail("invalid", format="YYYY-MM-DD")
    return _original["date"](self, data)


def _datetime(self, data):
    pattern = LOCAL_DATETIME_PATTERN if getattr(self, "offset_optional", False) else DATETIME_PATTERN
    rfc3339 = isinstance(data, datetime.datetime) or (isinstance(data, str) and re.fullmatch(pattern, data))
    if _from_json(self) and not rfc3339:
        self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.uuuuuu]+HH:MM (or Z)")
    return _original["datetime"](self, data)


def _primary_key(self, data):
    if _from_json(self) and self.pk_field is None and (isinstance(data, (bool, str, float))):
        self.fail("incorrect_type", data_type=type(data).__name__)
    return _original["primary_key"](self, data)


def install() -> None:
    if _original:
        return
    _original.update(
        char=fields.CharField.to_internal_value,
        char_run_validation=fields.CharField.run_validation,
        integer=fields.IntegerField.to_internal_value,
        float=fields.FloatField.to_internal_value,
        boolean=fields.BooleanField.to_internal_value,
        time=fields.TimeField.to_internal_value,
        date=fields.DateField.to_internal_value,
        datetime=fields.DateTimeField.to_internal_value,
        primary_key=relations.PrimaryKeyRelatedField.to_internal_value,
    )
    fields.CharField.to_internal_value = _char
    fields.CharField.run_validation = _char_run_validation
    fields.IntegerField.to_internal_value = _integer
    fields.FloatField.to_internal_value = _float
    fields.BooleanField.to_internal_value = _boolean
    fields.TimeField.to_internal_value = _time
    fields.DateField.to_internal_value = _date
    fields.DateTimeField.to_internal_value = _datetime
    relations.PrimaryKeyRelatedField.to_internal_value = _primary_key
