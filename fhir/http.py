"""`application/fhir+json` in and out, and every error as an OperationOutcome.

Errors are first made exactly as the REST API makes them (drf-standardized-errors through the
project's exception handler: same status codes, same refusal codes), then re-shaped: one issue per
error, the HMS refusal code kept as the issue's `details.coding` so a client can tell `slot_full`
from `already_booked`.
"""

from django.conf import settings
from rest_framework import renderers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from hms.api.parsers import JSONParser

FHIR_JSON = "application/fhir+json"
FHIR_BASE_PATH = "/fhir/R4"  # where hms/urls.py mounts this app
ERROR_CODE_SYSTEM = "https://hms.example/fhir/CodeSystem/error-code"

# HTTP status -> the issue-type code (http://hl7.org/fhir/issue-type) an OperationOutcome reports.
ISSUE_TYPE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-costly",
    415: "not-supported",
    422: "duplicate",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class FhirJSONRenderer(renderers.JSONRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"


class FhirJSONParser(JSONParser):
    """The project's strict JSON parser (malformed bodies are a 400), for FHIR's media type."""

    media_type = FHIR_JSON


class PlainJSONParser(JSONParser):
    media_type = "application/json"


class FhirContentNegotiation(BaseContentNegotiation):
    """One representation (FHIR JSON), whatever `Accept` or `_format` ask: never a 406."""

    def select_parser(self, request, parsers):
        content_type = request.content_type.split(";")[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def operation_outcome(status: int, errors: list[dict]) -> dict:
    """An OperationOutcome for an error answer in the API's shape (`errors: [{code, detail, attr}]`)."""
    severity = "fatal" if status >= 500 else "error"
    issues = []
    for error in errors or [{"code": "error", "detail": "The request failed.", "attr": None}]:
        detail = str(error.get("detail") or "The request failed.")
        if error.get("attr"):
            detail = f"{error['attr']}: {detail}"
        issues.append(
            {
                "severity": severity,
                "code": ISSUE_TYPE.get(status, "processing"),
                "details": {
                    "coding": [{"system": ERROR_CODE_SYSTEM, "code": str(error.get("code") or "error")}],
                    "text": detail,
                },
                "diagnostics": detail,
            }
        )
    return {"resourceType": "OperationOutcome", "issue": issues}


class FhirView(APIView):
    """The base of every FHIR view: the REST API's JWT authentication (the project default) and
    throttles, FHIR JSON in and out, errors as OperationOutcomes. Not in the OpenAPI schema: the
    CapabilityStatement (`GET /fhir/R4/metadata`) describes these routes."""

    schema = None
    renderer_classes = [FhirJSONRenderer]
    parser_classes = [FhirJSONParser, PlainJSONParser]
    content_negotiation_class = FhirContentNegotiation
    metadata_class = None  # OPTIONS: 405 (DRF's description is not FHIR; /metadata is)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        data = response.data if isinstance(response.data, dict) else {}
        response.data = operation_outcome(response.status_code, data.get("errors") or [])
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and not isinstance(getattr(response, "data", None), dict):
            response.data = operation_outcome(response.status_code, [])
        return response


def identifier_system() -> str:
    return settings.FHIR_IDENTIFIER_SYSTEM
