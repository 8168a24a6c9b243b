"""`Idempotency-Key` for POSTs (after the IETF idempotency-key draft and Stripe).

A retried request carrying the same key returns the first response instead of acting twice:

- scope: the caller (user id, or the client address when anonymous) + method + the canonical route
  name given to the decorator (so a seed alias and its canonical path share keys) + the route's URL
  arguments + the key;
- the first completed response (status and body) is kept for 24 hours and replayed, with the header
  `Idempotent-Replayed: true`; 5xx answers are not kept, so a retry after an outage runs again;
- the same key with a different request body -> 422 `idempotency_key_reused`;
- the same key while the first request is still running -> 409 (the lock lasts until the request
  finishes, or 60 seconds at most).

State lives on the shared Django cache (Redis or the database cache), so every worker and host sees
it: `cache.add` is the atomic "take the lock" step.

    @extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER], responses={201: Out, **IDEMPOTENCY_RESPONSES})
    @idempotent("appointment-book")
    def create(self, request, *args, **kwargs): ...
"""

import functools
import hashlib
import json
import re

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from hms.api.client import client_ip
from hms.api.exceptions import Conflict, UnprocessableIdempotencyKey
from hms.api.schema import ErrorResponse422Serializer

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LOCK_SECONDS = 60
KEEP_SECONDS = 24 * 60 * 60
_KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}$")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[!-~]{1,255}$",
    description=(
        "Optional, 1-255 printable ASCII characters (a UUID is ideal). A retry with the same key and "
        "body returns the first response (same status and body, header `Idempotent-Replayed: true`) "
        "for 24 hours instead of acting again. The same key with a different body -> 422; the same "
        "key while the first request is still running -> 409."
    ),
)
IDEMPOTENCY_RESPONSES = {422: ErrorResponse422Serializer}


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def body_fingerprint(data) -> str:
    """A hash of the parsed body that ignores key order and whitespace."""
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _caller(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"anon:{client_ip(request)}"


def _replay(stored: dict) -> Response:
    response = Response(json.loads(stored["body"]), status=stored["status"])
    response[REPLAYED_HEADER] = "true"
    return response


def _stored_or_conflict(stored: dict, fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise UnprocessableIdempotencyKey()
    return _replay(stored)


def idempotent(route: str):
    """Make a DRF view method honour `Idempotency-Key`; `route` names the canonical route."""

    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return handler(view, request, *args, **kwargs)
            if not _KEY_FORMAT.match(key):
                raise exceptions.ValidationError(
                    {HEADER: ["The Idempotency-Key is 1-255 printable ASCII characters."]}, code="invalid"
                )
            scope = _digest(_caller(request), request.method, route, sorted(kwargs.items()), key)
            result_key, lock_key = f"idem:result:{scope}", f"idem:lock:{scope}"
            fingerprint = body_fingerprint(request.data)

            stored = cache.get(result_key)
            if stored is not None:
                return _stored_or_conflict(stored, fingerprint)
            if not cache.add(lock_key, fingerprint, timeout=LOCK_SECONDS):
                # Someone holds the key: it may have finished between our two reads.
                stored = cache.get(result_key)
                if stored is not None:
                    return _stored_or_conflict(stored, fingerprint)
                if cache.get(lock_key, fingerprint) != fingerprint:
                    raise UnprocessableIdempotencyKey()
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    code="idempotency_key_in_use",
                )
            try:
                # The first request may have finished (result kept, lock freed) since our first look.
                stored = cache.get(result_key)
                if stored is not None:
                    return _stored_or_conflict(stored, fingerprint)
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    # Render the error now (as DRF's dispatch would) so an error answer is kept too;
                    # an exception DRF does not handle propagates and keeps nothing.
                    response = view.handle_exception(exc)
                if response.status_code < 500:
                    body = json.dumps(response.data, cls=JSONEncoder)
                    cache.set(
                        result_key,
                        {"fingerprint": fingerprint, "status": response.status_code, "body": body},
                        timeout=KEEP_SECONDS,
                    )
                return response
            finally:
                cache.delete(lock_key)

        return wrapper

    return decorator
