"""The API's JSON renderer (hms/api/renderers.py) writes DRF's JSONRenderer's bytes."""

import datetime
import uuid
from collections import OrderedDict
from decimal import Decimal

import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from hms.api.renderers import JSONRenderer


class Colour(models.TextChoices):
    RED = "red", "Red"


class Size(models.IntegerChoices):
    BIG = 3, "Big"


IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
VALUES = {
    "empty": {},
    "scalars": {"a": 1, "b": -(2**63), "c": 2**64 - 1, "d": True, "e": None, "f": "", "g": [], "h": False},
    "floats": {"lat": 12.9716, "lon": -77.0365, "one": 1.0, "half": 0.5, "tenth": 0.1, "big": 123456789.125},
    "text": {"name": "Ünïcode ✓ 病院 🚑", "quote": 'say "hi"\\', "control": "a\tb\nc\x1fd", "slash": "</script>"},
    "separators": {"note": "line\u2028para\u2029end"},
    "nested": {"results": [{"id": n, "tags": ["x", {"deep": [n, None]}]} for n in range(5)], "count": 5},
    "decimal": {"fee": Decimal("150.50"), "zero": Decimal("0")},
    "moments": {
        "aware": datetime.datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=datetime.UTC),
        "offset": datetime.datetime(2026, 3, 29, 6, 30, tzinfo=IST),
        "naive": datetime.datetime(2026, 3, 29, 1, 0),
        "date": datetime.date(2026, 12, 7),
        "time": datetime.time(9, 15, 30, 500),
        "duration": datetime.timedelta(minutes=15, seconds=3),
    },
    "identifiers": {"uuid": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    "enums": {"colour": Colour.RED, "size": Size.BIG},
    "drf": ReturnDict(
        {"errors": ReturnList([ErrorDetail("Bad.", code="invalid")], serializer=None), "detail": ErrorDetail("x")},
        serializer=None,
    ),
    "ordered": OrderedDict([("z", 1), ("a", 2)]),
    "lazy": {"label": gettext_lazy("Page")},
    "keys": {7: "int key", "2": "str key", None: "null key", False: "bool key"},
    "iterables": {"tuple": (1, 2), "set": {3}, "bytes": b"raw"},
    "top-level list": [1, "two", None],
    "too big an integer": {"n": 2**70},
}


@pytest.mark.parametrize("name", list(VALUES))
def test_the_bytes_are_drfs(name):
    value = VALUES[name]
    assert JSONRenderer().render(value) == renderers.JSONRenderer().render(value)


def test_indented_answers_are_drfs():
    value = VALUES["nested"]
    indented = JSONRenderer().render(value, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render(value, "application/json; indent=2")
    assert b"\n  " in indented


def test_nothing_is_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_a_value_neither_encodes_fails_as_drfs_does():
    with pytest.raises(TypeError):
        renderers.JSONRenderer().render({"x": object()})
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})


def test_a_decimal_that_is_not_finite_is_refused_as_drf_refuses_it():
    for value in (Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError):
            renderers.JSONRenderer().render({"x": value})
        with pytest.raises(ValueError):
            JSONRenderer().render({"x": value})


@pytest.mark.django_db
def test_the_api_answers_with_it(api):
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] == ["hms.api.renderers.JSONRenderer"]
    response = api.get("/api/v1/hospitals/999999")  # an error answer, through DRF's renderer
    assert response.status_code == 404
    assert type(response.accepted_renderer) is JSONRenderer
    assert response.content == renderers.JSONRenderer().render(response.data)
