"""The feed's JSON endpoints through DRF's test client, and the stream path under WSGI."""

import pytest

from accounts.tests.factories import HospitalFactory, UserFactory
from conftest import client_for
from feed.emit import emit
from feed.models import StreamTicket
from feed.reader import publish

pytestmark = pytest.mark.django_db


def _code(response):
    return response.json()["errors"][0]["code"]


def test_stream_path_under_wsgi_answers_503_in_the_error_shape(api):
    hospital = HospitalFactory()
    response = api.get(f"/api/v1/events/stream?topics=hospital.{hospital.pk}.beds")
    assert response.status_code == 503 and _code(response) == "stream_unavailable"


def test_polling_returns_only_visible_topics_in_id_order(api):
    hospital = HospitalFactory()
    patient = UserFactory(role="user")
    emit(f"hospital.{hospital.pk}.beds", "beds.changed", {"n": 1})
    emit(f"user.{patient.pk}", "appointment.booked", {"n": 2})
    emit(f"hospital.{hospital.pk}.beds", "beds.changed", {"n": 3})
    publish()
    response = api.get(f"/api/v1/events?topics=hospital.{hospital.pk}.beds")
    assert response.status_code == 200
    assert [event["data"]["n"] for event in response.json()["results"]] == [1, 3]
    own = client_for(patient).get(f"/api/v1/events?topics=user.{patient.pk},hospital.{hospital.pk}.beds")
    assert [event["data"]["n"] for event in own.json()["results"]] == [1, 2, 3]
    other = client_for(UserFactory(role="user")).get(f"/api/v1/events?topics=user.{patient.pk}")
    assert other.status_code == 404 and _code(other) == "not_found"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "invalid_topics"),
        ("topics=", 400, "invalid_topics"),
        ("topics=hospital.0.beds", 400, "unknown_topic"),
        ("topics=" + ",".join(f"hospital.{n}.beds" for n in range(1, 52)), 400, "invalid_topics"),
        ("topics=hospital.{h}.beds&after=-1", 400, "invalid"),
        ("topics=hospital.{h}.beds&limit=0", 400, "invalid"),
        ("topics=user.1", 401, "not_authenticated"),
    ],
)
def test_polling_refuses_bad_queries(api, query, status, code):
    hospital = HospitalFactory()
    response = api.get(f"/api/v1/events?{query.replace('{h}', str(hospital.pk))}")
    assert (response.status_code, _code(response)) == (status, code)


def test_ticket_needs_a_signed_in_caller_and_visible_topics(api):
    patient = UserFactory(role="user")
    assert api.post("/api/v1/events/tickets", {"topics": [f"user.{patient.pk}"]}, format="json").status_code == 401
    client = client_for(patient)
    hidden = client.post("/api/v1/events/tickets", {"topics": ["user.999999"]}, format="json")
    assert hidden.status_code == 404
    bad = client.post("/api/v1/events/tickets", {"topics": "user.1"}, format="json")
    assert bad.status_code == 400 and _code(bad) == "invalid_topics"
    assert not StreamTicket.objects.exists()
    made = client.post("/api/v1/events/tickets", {"topics": [f"user.{patient.pk}", "dashboard"]}, format="json")
    assert made.status_code == 201
    ticket = StreamTicket.objects.get()
    assert ticket.user_id == patient.pk and ticket.topics == [f"user.{patient.pk}", "dashboard"]
    assert ticket.digest != made.json()["ticket"]  # only a digest is stored


@pytest.mark.parametrize(("path", "method"), [("/api/v1/events/", "get"), ("/api/v1/events/tickets/", "post")])
def test_the_schema_documents_the_404_of_a_hidden_topic(api, path, method):
    # A patient asking for a hospital's bed topic gets 404 (tested above); the schema must say so, in the
    # error shape (the fuzzer's undocumented-status check found it missing).
    operation = api.get("/api/schema", {"format": "json"}).json()["paths"][path][method]
    assert "404" in operation["responses"]
    schema = operation["responses"]["404"]["content"]["application/json"]["schema"]
    assert schema["$ref"] == "#/components/schemas/NotFoundResponse"
