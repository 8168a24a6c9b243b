"""OpenAPI generation: every operation documents the error codes it can return, who may call it, and
the values its fields really take."""

import copy

import django_filters
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum, ValidationErrorEnum
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny

from hms.api.routers import ID_PATTERN
from hms.api.strict import LOCAL_DATETIME_PATTERN, TIME_PATTERN

SEED_PREFIXES = ("/hospital/", "/appointment/", "/bloodbank/")


def _error_response_serializer(name: str, code_example: str, type_choices):
    error = type(
        f"{name}Error",
        (serializers.Serializer,),
        {
            "code": serializers.CharField(
                help_text=f"Machine-readable reason, e.g. `{code_example}`; refusals are listed under Refusal codes."
            ),
            "detail": serializers.CharField(help_text="A sentence a front-end can show."),
            "attr": serializers.CharField(
                allow_null=True, help_text="The offending field for validation errors (dotted when nested), else null."
            ),
        },
    )
    return type(
        f"{name}Response",
        (serializers.Serializer,),
        {"type": serializers.ChoiceField(choices=type_choices), "errors": error(many=True)},
    )


# One documented error shape per status. Codes are open strings: every rule names its own reason
# (`slot_full`, `unique`, `invalid_credentials`, ...); the refusal codes are listed in openapi_description.md.
ErrorResponse400Serializer = _error_response_serializer(
    "BadRequest", "required", ValidationErrorEnum.choices + ClientErrorEnum.choices
)
ErrorResponse401Serializer = _error_response_serializer("Unauthorized", "not_authenticated", ClientErrorEnum.choices)
ErrorResponse403Serializer = _error_response_serializer("Forbidden", "permission_denied", ClientErrorEnum.choices)
ErrorResponse404Serializer = _error_response_serializer("NotFound", "not_found", ClientErrorEnum.choices)
ErrorResponse405Serializer = _error_response_serializer(
    "MethodNotAllowed", "method_not_allowed", ClientErrorEnum.choices
)
ErrorResponse406Serializer = _error_response_serializer("NotAcceptable", "not_acceptable", ClientErrorEnum.choices)
ErrorResponse409Serializer = _error_response_serializer("Conflict", "slot_full", ClientErrorEnum.choices)
ErrorResponse413Serializer = _error_response_serializer("PayloadTooLarge", "payload_too_large", ClientErrorEnum.choices)
ErrorResponse415Serializer = _error_response_serializer(
    "UnsupportedMediaType", "unsupported_media_type", ClientErrorEnum.choices
)
ErrorResponse422Serializer = _error_response_serializer(
    "IdempotencyKeyReused", "idempotency_key_reused", ClientErrorEnum.choices
)
ErrorResponse429Serializer = _error_response_serializer("Throttled", "throttled", ClientErrorEnum.choices)
ErrorResponse500Serializer = _error_response_serializer("ServerError", "error", ServerErrorEnum.choices)
ErrorResponse503Serializer = _error_response_serializer(
    "ServiceUnavailable", "service_unavailable", ServerErrorEnum.choices
)


class FilterBackendExtension(DjangoFilterExtension):
    """Filter parameters as strict as their form fields: integer where an integer is parsed, with the
    min_value/max_value bounds that answer 400 outside them; typed text filters are never empty."""

    target_class = "hms.api.filters.FilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        field_class = filter_field.field_class
        # Django's DecimalField and FloatField subclass IntegerField.
        integer = issubclass(field_class, forms.IntegerField) and not issubclass(
            field_class, (forms.DecimalField, forms.FloatField)
        )
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") == "string" and not isinstance(filter_field, django_filters.CharFilter):
                # hms.api.filters.FilterBackend answers 400 to an empty value of any typed filter.
                schema.setdefault("minLength", 1)
            if schema.get("type") not in ("integer", "number"):
                continue
            if integer:
                schema["type"] = "integer"
                schema.pop("format", None)
            for kwarg, keyword in (("min_value", "minimum"), ("max_value", "maximum")):
                bound = filter_field.extra.get(kwarg)
                if bound is not None:
                    schema.setdefault(keyword, bound if isinstance(bound, int) else float(bound))
        return parameters


class _AnonymousRequest:
    """The schema generator's request as an anonymous caller would send it (for permission checks)."""

    def __init__(self, request, method):
        self._request, self.method, self.user, self.auth = request, method, AnonymousUser(), None

    def __getattr__(self, name):
        return getattr(self._request, name)


def _allows_blank(field) -> bool:
    """True when the field takes or returns "" (read-only model fields lose `allow_blank` in DRF)."""
    if getattr(field, "allow_blank", False):
        return True
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if not field.read_only or model is None or len(getattr(field, "source_attrs", ())) != 1:
        return False
    try:
        return model._meta.get_field(field.source_attrs[0]).blank
    except FieldDoesNotExist:
        return False


class AutoSchema(StandardizedErrorsAutoSchema):
    """Adds 409/413 to writes and 503 everywhere; reads never answer 409 or 413.

    Also: an operation that anonymous callers may use says so (security `{}`), whatever permission
    class grants it; a write behind a permission documents 403 (services refuse by role and
    ownership); "" is documented where an email, URL or patterned string may be blank; times of day are wall-clock
    `HH:MM[:SS]` (JSON Schema's `time` format demands an offset); a PUT routed to `partial_update`
    (seed aliases) documents the partial body it accepts."""

    def _resolve_path_parameters(self, variables):
        # A record id routed by hms.api.routers.ID_PATTERN is typed from its model (an integer, with
        # the key's description), as drf-spectacular types DRF's catch-all pattern, not as a string.
        regex = self.path_regex
        self.path_regex = regex.replace(f">{ID_PATTERN})", ">[^/.]+)")
        try:
            return super()._resolve_path_parameters(variables)
        finally:
            self.path_regex = regex

    def _should_add_error_response(self, responses, status_code):
        if status_code in ("409", "413") and self.method in ("GET", "HEAD", "OPTIONS"):
            return False
        return super()._should_add_error_response(responses, status_code)

    def _should_add_http403_error_response(self):
        if self.method not in SAFE_METHODS:
            permissions = self.view.get_permissions()
            return bool(permissions) and not all(type(permission) is AllowAny for permission in permissions)
        return super()._should_add_http403_error_response()

    def get_auth(self):
        auths = []
        for requirement in super().get_auth():
            if requirement not in auths:
                auths.append(requirement)
        if auths and {} not in auths and self._anonymous_allowed():
            auths.append({})
        return auths

    def _anonymous_allowed(self) -> bool:
        request = _AnonymousRequest(self.view.request, self.method)
        try:
            return all(permission.has_permission(request, self.view) for permission in self.view.get_permissions())
        except Exception:  # noqa: BLE001 - a permission that needs a real caller does not admit anonymous ones
            return False

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if isinstance(field, serializers.CharField) and _allows_blank(field):
            for keyword in ("format", "pattern"):
                if keyword in schema:
                    schema["anyOf"] = [{keyword: schema.pop(keyword)}, {"enum": [""]}]
        offset_optional = getattr(field, "offset_optional", False)
        if isinstance(field, serializers.DateTimeField) and offset_optional and schema.get("format") == "date-time":
            del schema["format"]
            schema.update(pattern=LOCAL_DATETIME_PATTERN, example="2026-03-30T09:00:00")
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            del schema["format"]
            schema.update(pattern=TIME_PATTERN, example="09:30:00")

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        # A list that exports (hms.api.exports) answers 200 with CSV too; its errors are JSON.
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        content = response.get("content", {})
        if "text/csv" in content and len(content) > 1:
            if str(status_code).startswith("2"):
                content["text/csv"] = {
                    "schema": {
                        "type": "string",
                        "description": "`?format=csv` or `Accept: text/csv`: every row of the filtered list as "
                        "CSV (UTF-8, a header row of the JSON fields, `object.field` for nested objects), streamed.",
                    }
                }
            else:
                del content["text/csv"]
        return response

    def _get_request_for_media_type(self, serializer, direction="request"):
        if (
            self.method != "PATCH"
            and getattr(self.view, "action", None) == "partial_update"
            and is_serializer(serializer)
        ):
            serializer = copy.copy(force_instance(serializer))
            serializer.partial = True
        return super()._get_request_for_media_type(serializer, direction)


def mark_seed_aliases_deprecated(result, generator, request, public):
    """Seed-compatible routes are kept for old clients; new clients use /api/v1/."""
    for path, operations in result.get("paths", {}).items():
        if path.startswith(SEED_PREFIXES):
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["deprecated"] = True
    return result
