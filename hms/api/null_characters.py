"""NUL characters (U+0000) are refused at the door, in the query string, JSON bodies and the path.

PostgreSQL's `text` and `jsonb` cannot hold U+0000: a value carrying one fails inside the database
driver (a DataError, or a 500 where nothing maps it), wherever it is compared or stored. No field of
the API has a use for it, so one 400 (`null_character`, naming the parameter or the body field)
answers for every endpoint, before any filter, lookup or serializer sees the value (a 404 in a path).
"""

from django.http import JsonResponse
from rest_framework import exceptions

NULL_CHARACTER = "\x00"
NULL_CHARACTER_CODE = "null_character"


def null_character_path(data, prefix: str = "") -> str | None:
    """The dotted path (as `attr`) of the first string in parsed JSON holding U+0000 ("" for the
    body itself), else None. Keys count as well as values."""
    if isinstance(data, str):
        return prefix if NULL_CHARACTER in data else None
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for key, value in items:
        key = str(key)
        path = f"{prefix}.{key}" if prefix else key
        if NULL_CHARACTER in key:
            return path
        found = null_character_path(value, path)
        if found is not None:
            return found
    return None


def refuse_null_characters(data) -> None:
    """Raise a 400 `null_character` on the field of parsed JSON holding U+0000 (the JSON parser calls this)."""
    path = null_character_path(data)
    if path is None:
        return
    detail = "Text may not contain NUL characters (U+0000)."
    if path == "":
        raise exceptions.ValidationError(detail, code=NULL_CHARACTER_CODE)
    # A flat {attr: [detail]} names the (dotted) field as `attr` in the error shape.
    raise exceptions.ValidationError({path: [detail]}, code=NULL_CHARACTER_CODE)


def _error_answer(status: int, code: str, detail: str, attr: str | None) -> JsonResponse:
    return JsonResponse(
        {
            "type": "validation_error" if attr else "client_error",
            "errors": [{"code": code, "detail": detail, "attr": attr}],
        },
        status=status,
    )


class NullCharacterMiddleware:
    """400 `null_character` for U+0000 in a query parameter's name or value; 404 `not_found` for one in
    the path, which names nothing (as every other unreadable id in a path: hms/tests/test_owasp.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NULL_CHARACTER in request.path_info:
            return _error_answer(404, "not_found", "Not found.", None)
        if "%00" in request.META.get("QUERY_STRING", "") or NULL_CHARACTER in request.META.get("QUERY_STRING", ""):
            for name, values in request.GET.lists():
                if NULL_CHARACTER in name or any(NULL_CHARACTER in value for value in values):
                    attr = name.replace(NULL_CHARACTER, "%00")
                    detail = "Query parameters may not contain NUL characters (%00)."
                    return _error_answer(400, NULL_CHARACTER_CODE, detail, attr)
        return self.get_response(request)
