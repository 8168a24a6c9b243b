"""The one error shape (drf-standardized-errors) and the conflicts it maps to 409 / 503."""

from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from drf_standardized_errors import handler
from redis.exceptions import ConnectionError as CacheConnectionError
from redis.exceptions import TimeoutError as CacheTimeoutError
from rest_framework import exceptions, status


class Conflict(exceptions.APIException):
    """409: the request is valid but the current state forbids it. Every refusal names its reason
    (`code`, e.g. `slot_full`); the codes are listed in the OpenAPI description."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail: str, *, code: str):
        super().__init__(detail, code)

    @classmethod
    def raise_for(cls, refusal: tuple[str, str] | None) -> None:
        """Raise the 409 for a rule's `(code, sentence)` answer; None (no refusal) passes."""
        if refusal is not None:
            code, message = refusal
            raise cls(message, code=code)


# The refusal code of a 409 that the database's constraint (named as in the models' Meta) decides,
# when it fires before (or instead of) the service's own check, e.g. under a race. A unique
# violation not named here is `unique` (like DRF's unique validators), any other `conflict`.
CONSTRAINT_CODES = {
    "slot_booked_within_capacity": "slot_full",
    "slot_doctor_start_unique": "duplicate_slot",
    "appointment_one_active_per_patient_slot": "already_booked",
    "slot_seats_within_capacity": "slot_full",
    "hold_one_active_per_patient_slot": "already_held",
    "waitlist_one_active_per_patient_doctor_date": "already_waiting",
    "admission_one_active_per_bed": "bed_occupied",
    "admission_one_active_per_patient": "already_admitted",
    "emergency_one_open_per_ambulance": "ambulance_busy",
    "referral_one_open_per_patient": "referral_open",
    "referral_one_open_per_bed": "bed_reserved",
    "referral_one_in_transit_per_ambulance": "ambulance_busy",
    "stocklot_units_not_negative": "insufficient_stock",
}
UNIQUE_VIOLATION = "23505"  # SQLSTATE


def integrity_error_code(exc: IntegrityError) -> str:
    """The refusal code for a constraint violation (`CONSTRAINT_CODES`, else `unique` or `conflict`)."""
    cause = exc.__cause__
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if constraint in CONSTRAINT_CODES:
        return CONSTRAINT_CODES[constraint]
    if getattr(cause, "sqlstate", None) == UNIQUE_VIOLATION or "UNIQUE constraint failed" in str(exc):
        return "unique"
    return "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than 1 MiB."
    default_code = "payload_too_large"


class UnprocessableIdempotencyKey(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request body."
    default_code = "idempotency_key_reused"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"


STATEMENT_TIMEOUT_DETAIL = "The database took too long to answer; nothing was changed. Try again shortly."


def is_statement_timeout(exc: BaseException) -> bool:
    """A statement cancelled by DB_STATEMENT_TIMEOUT_MS (a slow database, or a lock held too long)."""
    cause = getattr(exc, "__cause__", None)
    return isinstance(exc, OperationalError) and type(cause).__name__ == "QueryCanceled"


class ExceptionHandler(handler.ExceptionHandler):
    """Constraint violations become 409, a lost database or cache 503; nothing leaks exception text."""

    def convert_known_exceptions(self, exc):
        if isinstance(exc, DataError):
            # A value the database cannot hold (out-of-range number or date, bad time zone offset).
            return exceptions.ValidationError("A value is out of the range the server can store.", code="out_of_range")
        if isinstance(exc, IntegrityError):
            return Conflict(
                "This change conflicts with existing data (a uniqueness or consistency rule).",
                code=integrity_error_code(exc),
            )
        if is_statement_timeout(exc):
            return ServiceUnavailable(STATEMENT_TIMEOUT_DETAIL, code="database_timeout")
        if isinstance(exc, (OperationalError, InterfaceError)):
            return ServiceUnavailable("The database is not reachable; try again shortly.")
        if isinstance(exc, DatabaseError):
            return ServiceUnavailable()
        if isinstance(exc, (CacheConnectionError, CacheTimeoutError)):
            # Throttle counters live on the shared cache (Redis): without it a throttled write cannot
            # be counted, so it acts on nothing. Cached reads fall back to the database (bin/chaos).
            return ServiceUnavailable("The shared cache is not reachable; try again shortly.")
        return super().convert_known_exceptions(exc)

    def get_response(self, exc, data):
        response = super().get_response(exc, data)
        # DRF's unique validators answer 400; the contract says a uniqueness violation is 409.
        if response.status_code == 400 and data.get("type") == "validation_error":
            errors = data.get("errors", [])
            if errors and all(error.get("code") == "unique" for error in errors):
                response.status_code = status.HTTP_409_CONFLICT
                data["type"] = "client_error"
        if response.status_code == 503:
            response["Retry-After"] = "5"
        return response

    def format_exception(self, exc):
        if not isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict) and "detail" in exc.detail:
            # simplejwt's token errors carry {"detail", "code", "messages"}: keep one error, like every
            # other client error, instead of one per key with `attr` "detail", "code", "messages.0...".
            exc.detail = exc.detail["detail"]
        return super().format_exception(exc)
