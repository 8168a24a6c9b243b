"""DRF's JSON parser, hardened: JSON nested deeper than Python's parser can follow is a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # `[[[[...]]]]` fits easily in 1 MiB and exhausts the recursion limit of json.loads.
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
