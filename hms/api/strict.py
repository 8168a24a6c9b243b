"""Strict JSON types: a JSON body must carry the type the schema documents.

DRF is lenient by default (it turns 5 into "5" for a CharField and "5" into 5 for an IntegerField).
For a JSON API that leniency hides client bugs and makes the OpenAPI schema untrue, so JSON input
is checked strictly. Query strings (a QueryDict) are text by nature and keep DRF's coercion.
"""

import math

from django.http import QueryDict
from rest_framework import fields, relations

_original = {}


def _from_json(field) -> bool:
    root = field.root
    data = getattr(root, "initial_data", None)
    return not isinstance(data, QueryDict)


def _char(self, data):
    if _from_json(self) and not isinstance(data, str):
        self.fail("invalid")
    return _original["char"](self, data)


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


def _primary_key(self, data):
    if _from_json(self) and self.pk_field is None and (isinstance(data, (bool, str, float))):
        self.fail("incorrect_type", data_type=type(data).__name__)
    return _original["primary_key"](self, data)


def install() -> None:
    if _original:
        return
    _original.update(
        char=fields.CharField.to_internal_value,
        integer=fields.IntegerField.to_internal_value,
        float=fields.FloatField.to_internal_value,
        boolean=fields.BooleanField.to_internal_value,
        primary_key=relations.PrimaryKeyRelatedField.to_internal_value,
    )
    fields.CharField.to_internal_value = _char
    fields.IntegerField.to_internal_value = _integer
    fields.FloatField.to_internal_value = _float
    fields.BooleanField.to_internal_value = _boolean
    relations.PrimaryKeyRelatedField.to_internal_value = _primary_key
