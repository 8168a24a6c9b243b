"""CORS for browser front-ends on an allowed origin: the headers the API honours may be sent
(Idempotency-Key for a safe retry, Last-Event-ID to resume an event stream), the ones it answers
with may be read by scripts (issue 22: a preflight refused Idempotency-Key)."""

import pytest

pytestmark = pytest.mark.django_db

ORIGIN = "https://app.example.org"


def _listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


@pytest.fixture
def allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


def test_preflight_from_an_allowed_origin_allows_idempotency_key_and_last_event_id(api, allowed_origin):
    response = api.options(
        "/api/v1/appointments",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    allowed = _listed(response["Access-Control-Allow-Headers"])
    # django-cors-headers' defaults are kept.
    assert {"accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with"} <= allowed
    assert {"idempotency-key", "last-event-id", "x-request-id"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response


def test_responses_to_an_allowed_origin_expose_retry_after_request_id_and_location(api, allowed_origin):
    response = api.get("/api/v1/hospitals", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert {"retry-after", "x-request-id", "location"} <= _listed(response["Access-Control-Expose-Headers"])


def test_other_origins_get_no_cors_headers_at_all(api, allowed_origin):
    preflight = api.options(
        "/api/v1/appointments",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="idempotency-key",
    )
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Headers" not in preflight
    response = api.get("/api/v1/hospitals", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Expose-Headers" not in response
