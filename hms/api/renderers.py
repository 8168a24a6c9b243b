"""The API's JSON renderer: DRF's bytes, encoded by orjson.

DRF's `JSONRenderer` encodes with the standard library (`json.dumps` with DRF's encoder, compact, UTF-8,
no NaN) and then escapes U+2028 and U+2029. For a page of 50 slots that is about a tenth of the worker's
time for the request. orjson writes the same bytes for what answers hold (dicts, lists, text, integers,
booleans, null, enum members, UUIDs) several times faster; whatever it does not encode itself (dates
and times, decimals, lazy text, ...) goes to DRF's encoder (`default`), so it comes out as DRF writes
it. Anything orjson refuses (an integer past 64 bits, text that is not valid Unicode, nesting deeper
than 254) and an indented answer (`Accept: application/json; indent=2`) are written by DRF's own
renderer. Two differences stay: a float in exponent form (`1e-05` from Python is `1e-5` from orjson),
the same number to any JSON reader; and a float that is not finite is `null` where DRF's strict
rendering fails the request (the API refuses such numbers on the way in). The API's figures are
integers, decimals as text, and coordinates.
hms/tests/test_renderers.py compares the bytes with DRF's on every kind of value.
"""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (
            data is None
            or not self.compact
            or self.ensure_ascii
            or not self.strict
            or self.encoder_class is not JSONEncoder
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError, ValueError):
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in body or _PARAGRAPH_SEPARATOR in body:
            # DRF escapes them so that the JSON is also a JavaScript literal.
            body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return body


_encoder = JSONEncoder()


def _default(value):
    """DRF's encoder for what orjson leaves to it; a float from it (a Decimal) must be finite, as DRF's
    strict rendering requires."""
    encoded = _encoder.default(value)
    if isinstance(encoded, float) and (encoded != encoded or encoded in (float("inf"), float("-inf"))):
        raise ValueError("Out of range float values are not JSON compliant")
    return encoded
