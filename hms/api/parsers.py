"""The one request parser: JSON, where every malformed body (or one carrying U+0000) is a 400 and never a 500."""

import codecs
import json
import math

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from hms.api.null_characters import refuse_null_characters


def _reject_constant(value: str):
    raise ValueError(f"{value} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        # 1e400 parses to infinity, which no field can store (int(inf) raises OverflowError).
        raise ValueError(f"the number {text[:20]} is out of range")
    return number


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus: nesting too deep, numbers out of range and unknown charsets are a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded = codecs.getreader(encoding)(stream)
            data = json.load(decoded, parse_constant=_reject_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            raise ParseError(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not valid {encoding} text.") from exc
        except LookupError as exc:
            raise ParseError("The Content-Type names an unknown charset.") from exc
        except RecursionError as exc:
            raise ParseError("The body is not valid JSON: it is nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}.") from exc
        refuse_null_characters(data)  # "\u0000": PostgreSQL's text and jsonb cannot hold it
        return data
