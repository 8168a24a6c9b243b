"""Errors answered under /fhir/R4 before or around the FHIR views, as OperationOutcomes.

The FHIR views re-shape their own errors (`http.FhirView`). Some answers are given outside them: the
body-size limit (413) and a bad Content-Length (400) in `BodySizeLimitMiddleware`, a database outage
(503), a path the FHIR routes do not match (the base without its trailing slash: Django's 404
handler), an uncaught exception (the 500 handler). Those come in the REST API's error shape; this
middleware, placed outside them all, gives a FHIR client the same answer as an OperationOutcome.
"""

import json

from django.http import HttpResponse

from .http import FHIR_BASE_PATH, FHIR_JSON, FhirJSONRenderer, operation_outcome


def under_fhir_base(path: str) -> bool:
    return path == FHIR_BASE_PATH or path.startswith(FHIR_BASE_PATH + "/")


def _errors(response) -> list[dict]:
    """The `errors` of a body in the API's error shape; none when the body is something else."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


class OperationOutcomeMiddleware:
    """Any error response under the FHIR base that is not FHIR JSON yet becomes an OperationOutcome
    (same status, same headers such as Retry-After and Allow, the HMS error codes kept)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or response.streaming
            or not under_fhir_base(request.path_info)
            or response.get("Content-Type", "").startswith(FHIR_JSON)
        ):
            return response
        outcome = operation_outcome(response.status_code, _errors(response))
        reshaped = HttpResponse(
            FhirJSONRenderer().render(outcome),
            status=response.status_code,
            content_type=f"{FHIR_JSON}; charset=utf-8",
        )
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length"):
                reshaped[header] = value
        return reshaped
