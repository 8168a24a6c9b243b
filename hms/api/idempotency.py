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

State lives in the database (hms.models.IdempotencyRecord), not in the cache: a request claims its key
with a row (a unique primary key decides between two at once), runs its write and stores its answer in
one transaction that also re-checks the claim, so a retry can never act twice, whether Redis is up,
down or restarted empty, and whatever crashes in between (a claim left by a dead worker lapses after
60 seconds).

    @idempotent("appointment-book", request=In, responses={201: Out})
    def create(self, request, *args, **kwargs): ...

Given extend_schema's keywords, the decorator also documents the operation with the `Idempotency-Key`
header and its 422 added. Under `@action` (which replaces the schema a decorator below it sets) write
`@extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER], responses={..., **IDEMPOTENCY_RESPONSES})` above it.
"""

import functools
import hashlib
import json
import re
import uuid
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from hms.api.client import client_ip
from hms.api.exceptions import Conflict, UnprocessableIdempotencyKey
from hms.api.schema import ErrorResponse422Serializer
from hms.models import IdempotencyRecord

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


def _claim(scope: str, fingerprint: str, now) -> str | None:
    """Claim the key for this request: a new row, or one whose claim lapsed or whose answer expired.
    Returns the lease, or None when someone else's claim or answer stands."""
    lease = uuid.uuid4().hex
    fields = {
        "fingerprint": fingerprint,
        "lease": lease,
        "status": None,
        "body": None,
        "locked_until": now + timedelta(seconds=LOCK_SECONDS),
        "expires_at": now + timedelta(seconds=KEEP_SECONDS),
        "created_at": now,
    }
    try:
        with transaction.atomic():
            # bulk_create: no model signals (a claim is not a change any cached read shows).
            IdempotencyRecord.objects.bulk_create([IdempotencyRecord(scope=scope, **fields)])
        return lease
    except IntegrityError:
        lapsed = Q(status__isnull=True, locked_until__lt=now) | Q(expires_at__lt=now)
        taken = IdempotencyRecord.objects.filter(lapsed, scope=scope).update(**fields)
        return lease if taken else None


def _standing(scope: str, fingerprint: str) -> Response:
    """The answer to a request whose key someone else holds: the stored answer, 422 or 409."""
    record = IdempotencyRecord.objects.filter(scope=scope).values("fingerprint", "status", "body").first()
    if record is None:  # released between our claim and this read: the client may simply retry
        raise Conflict("This Idempotency-Key was just released; retry.", code="idempotency_key_in_use")
    if record["fingerprint"] != fingerprint:
        raise UnprocessableIdempotencyKey()
    if record["status"] is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code="idempotency_key_in_use",
        )
    return _replay(record)


class _LeaseLost(Exception):
    """The claim lapsed while the request ran and another request took the key: undo this one."""


def _store(scope: str, lease: str, response: Response) -> bool:
    body = json.dumps(response.data, cls=JSONEncoder)
    return bool(
        IdempotencyRecord.objects.filter(scope=scope, lease=lease).update(status=response.status_code, body=body)
    )


def _release(scope: str, lease: str) -> None:
    """Nothing kept (a 5xx, or an error DRF does not handle): the next retry runs again."""
    IdempotencyRecord.objects.filter(scope=scope, lease=lease).update(expires_at=timezone.now() - timedelta(seconds=1))


def documented(view_method, *, responses: dict, **schema):
    """`extend_schema(**schema)` with the `Idempotency-Key` header and its 422 response added."""
    return extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER], responses={**responses, **IDEMPOTENCY_RESPONSES}, **schema
    )(view_method)


def idempotent(route: str, **schema):
    """Make a DRF view method honour `Idempotency-Key`; `route` names the canonical route. With `schema`
    (extend_schema's keywords, `responses` among them) the method is documented too (see `documented`)."""

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
            fingerprint = body_fingerprint(request.data)
            lease = _claim(scope, fingerprint, timezone.now())
            if lease is None:
                return _standing(scope, fingerprint)
            try:
                # The write and its stored answer commit together, or neither does.
                with transaction.atomic():
                    response = handler(view, request, *args, **kwargs)
                    if response.status_code < 500 and not _store(scope, lease, response):
                        raise _LeaseLost()
            except _LeaseLost:
                return _standing(scope, fingerprint)
            except Exception as exc:
                # Render the error now (as DRF's dispatch would) so an error answer is kept too; an
                # exception DRF does not handle propagates and keeps nothing.
                try:
                    response = view.handle_exception(exc)
                except BaseException:
                    _release(scope, lease)
                    raise
                if response.status_code >= 500 or not _store(scope, lease, response):
                    _release(scope, lease)
                return response
            if response.status_code >= 500:
                _release(scope, lease)
            return response

        return documented(wrapper, **schema) if schema else wrapper

    return decorator


def prune_expired() -> dict:
    """Delete the keys past their 24 hours (the job `hms.idempotency_prune`), without model signals."""
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE expires_at < %s", [timezone.now()])  # noqa: S608
        return {"deleted": cursor.rowcount}
