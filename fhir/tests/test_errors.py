"""Every error under /fhir/R4 is an OperationOutcome (`application/fhir+json`, the REST status, an issue
with a code), whichever layer answers: the FHIR views, DRF, the middleware (body size, database) or
Django's own handlers (no such route, server error)."""

import json
from unittest import mock

import pytest
from django.db import OperationalError

from conftest import client_for
from fhir.tests.conftest import fhir_json
from fhir.types import TYPES

pytestmark = pytest.mark.django_db

ERROR_CODE_SYSTEM = "https://hms.example/fhir/CodeSystem/error-code"


def outcome(response, status: int, issue_code: str, error_code: str | None = None) -> dict:
    """The response is an OperationOutcome with `status`, a first issue of `issue_code` (and HMS code)."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = fhir_json(response)
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["code"] == issue_code, issue
    assert issue["severity"] in ("error", "fatal")
    if error_code is not None:
        assert issue["details"]["coding"][0] == {"system": ERROR_CODE_SYSTEM, "code": error_code}, issue
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/R4",
        "/fhir/R4/",
        "/fhir/R4/Nothing",
        "/fhir/R4/Nothing/1",
        "/fhir/R4/Slot/1/_history",
        "/fhir/R4/Slot/1/_history/2",
        "/fhir/R4/Slot/not%20an%20id",
        "/fhir/R4/Slot/" + "1" * 65,
        "/fhir/R4/_search",
        "/fhir/R4/$everything",
        "/fhir/R4//",
    ],
)
def test_unknown_routes_under_the_base_are_404_outcomes(api, path):
    outcome(api.get(path), 404, "not-found", "not_found")


def test_unknown_ids_are_404_outcomes(api, admin_user):
    client = client_for(admin_user)
    for name, rtype in TYPES.items():
        part = rtype.parts[0]
        outcome(client.get(f"/fhir/R4/{name}/{part.resource_id(999999)}"), 404, "not-found", "not_found")
        outcome(client.get(f"/fhir/R4/{name}/{part.resource_id(999999)}/"), 404, "not-found", "not_found")
    outcome(client.get("/fhir/R4/Location/ward-x"), 404, "not-found")
    outcome(client.get("/fhir/R4/Encounter/123"), 404, "not-found")


def test_trailing_slash_variants_answer_as_without(api, slot):
    for path in ("/fhir/R4/metadata/", "/fhir/R4/Slot/", f"/fhir/R4/Slot/{slot.pk}/"):
        response = api.get(path)
        assert response.status_code == 200, path
        fhir_json(response)
    outcome(api.get("/fhir/R4/Patient/"), 401, "login")


@pytest.mark.parametrize("name", sorted(TYPES))
def test_undeclared_methods_are_405_outcomes_on_every_type(name, admin_user):
    client = client_for(admin_user)
    resource_id = TYPES[name].parts[0].resource_id(1)
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/fhir/R4/{name}", "{}", content_type="application/fhir+json")
        outcome(response, 405, "not-supported", "method_not_allowed")
        response = getattr(client, method)(f"/fhir/R4/{name}/{resource_id}", "{}", content_type="application/fhir+json")
        outcome(response, 405, "not-supported", "method_not_allowed")
    outcome(
        client.post(f"/fhir/R4/{name}/{resource_id}", "{}", content_type="application/fhir+json"), 405, "not-supported"
    )
    outcome(client.options(f"/fhir/R4/{name}"), 405, "not-supported")
    outcome(client.options(f"/fhir/R4/{name}/{resource_id}"), 405, "not-supported")
    if name != "Appointment":
        response = client.post(f"/fhir/R4/{name}", "{}", content_type="application/fhir+json")
        outcome(response, 405, "not-supported", "method_not_allowed")
    outcome(client.generic("TRACE", f"/fhir/R4/{name}"), 405, "not-supported")


def test_metadata_other_methods_are_405_outcomes(api):
    outcome(api.post("/fhir/R4/metadata", "{}", content_type="application/fhir+json"), 405, "not-supported")
    outcome(api.delete("/fhir/R4/metadata"), 405, "not-supported")
    outcome(api.options("/fhir/R4/metadata"), 405, "not-supported")


def test_head_answers_like_get_without_a_body(api, slot):
    response = api.head("/fhir/R4/Slot")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/fhir+json")
    assert response.content == b""
    response = api.head("/fhir/R4/Slot/999999")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/fhir+json")
    response = api.head("/fhir/R4/Patient")
    assert response.status_code == 401 and response["Content-Type"].startswith("application/fhir+json")


def test_any_accept_gets_fhir_json_never_406(api, slot):
    for accept in ("text/html", "application/xml", "application/fhir+xml", "image/png", "*/*", "nonsense"):
        response = api.get("/fhir/R4/Slot", HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        fhir_json(response)
    outcome(api.get("/fhir/R4/Slot/999999", HTTP_ACCEPT="text/html"), 404, "not-found")


def test_wrong_content_type_on_post_is_a_415_outcome(slot, patient):
    client = client_for(patient)
    for content_type in ("text/plain", "application/xml", "application/fhir+xml", "multipart/form-data; boundary=x"):
        response = client.post("/fhir/R4/Appointment", "{}", content_type=content_type)
        outcome(response, 415, "not-supported", "unsupported_media_type")


@pytest.mark.parametrize("body", ["{not json", "", "{", '{"a": 1,}', "\x00"])
def test_malformed_json_is_a_400_outcome(slot, patient, body):
    response = client_for(patient).post("/fhir/R4/Appointment", body, content_type="application/fhir+json")
    outcome(response, 400, "invalid")


def test_oversized_body_is_a_413_outcome(settings, slot, patient):
    client = client_for(patient)
    body = json.dumps({"resourceType": "Appointment", "description": "x" * (settings.MAX_REQUEST_BODY_BYTES + 1)})
    response = client.post("/fhir/R4/Appointment", body, content_type="application/fhir+json")
    outcome(response, 413, "too-costly", "payload_too_large")
    response = client.post("/fhir/R4/Slot", body, content_type="application/fhir+json")
    outcome(response, 413, "too-costly", "payload_too_large")
    # The REST API keeps its own error shape for the same refusal.
    response = client.post("/api/v1/appointments", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "payload_too_large"


def test_bad_content_length_is_a_400_outcome(api):
    response = api.generic("POST", "/fhir/R4/Appointment", "{}", "application/fhir+json", CONTENT_LENGTH="ten")
    outcome(response, 400, "invalid", "invalid_content_length")


def test_unauthenticated_and_bad_tokens_are_401_outcomes(api):
    for name in ("Patient", "Appointment", "Encounter", "MedicationRequest"):
        outcome(api.get(f"/fhir/R4/{name}"), 401, "login")
        outcome(api.get(f"/fhir/R4/{name}/1"), 401, "login")
    outcome(api.get("/fhir/R4/Patient", HTTP_AUTHORIZATION="Bearer not-a-token"), 401, "login")
    outcome(api.get("/fhir/R4/Slot", HTTP_AUTHORIZATION="Bearer not-a-token"), 401, "login")


def test_throttled_booking_is_a_429_outcome_with_retry_after(settings, schedule, patient):
    from rest_framework.throttling import ScopedRateThrottle

    from appointments.tests.factories import SlotFactory
    from fhir.tests.test_booking import appointment_body

    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "booking": "1/min"}
    try:
        client = client_for(patient)
        slots = SlotFactory.create_batch(2, doctor=schedule.doctor, opd_schedule=schedule)
        statuses = []
        for slot in slots:
            response = client.post(
                "/fhir/R4/Appointment",
                json.dumps(appointment_body(slot.pk, patient.pk)),
                content_type="application/fhir+json",
            )
            statuses.append(response.status_code)
        assert statuses == [201, 429]
        outcome(response, 429, "throttled", "throttled")
        assert int(response["Retry-After"]) >= 1
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original


def test_database_outage_is_a_503_outcome(api):
    api.raise_request_exception = False
    with mock.patch("fhir.views.search", side_effect=OperationalError("connection refused")):
        response = api.get("/fhir/R4/Slot")
    body = outcome(response, 503, "transient")
    assert body["issue"][0]["severity"] == "fatal"
    assert response["Retry-After"] == "5"


def test_server_error_is_a_500_outcome(api):
    api.raise_request_exception = False
    with mock.patch("fhir.views.search", side_effect=RuntimeError("boom")):
        response = api.get("/fhir/R4/Slot")
    body = outcome(response, 500, "exception")
    assert body["issue"][0]["severity"] == "fatal"
    assert "boom" not in response.content.decode()


def test_the_rest_api_keeps_its_error_shape(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "not_found"
    response = api.get("/fhir/R4x")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
