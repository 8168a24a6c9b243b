"""The OpenAPI document tells the truth about who may call an operation and what its fields hold."""

import re

import pytest

from hms.tests.openapi import assert_response_documented, openapi

pytestmark = pytest.mark.django_db


def _parameterless_gets(document):
    for path, operations in document["paths"].items():
        if "{" not in path and "get" in operations and not path.startswith("/api/schema"):
            yield path, operations["get"]


def test_schema_marks_exactly_the_anonymous_reads_as_open(api):
    document = openapi()
    checked = 0
    for path, operation in _parameterless_gets(document):
        status = api.get(path).status_code
        open_to_anyone = not operation.get("security") or {} in operation["security"]
        if status == 200:
            assert open_to_anyone, f"GET {path} answers anonymous callers but its schema demands a token"
        elif status in (401, 403):
            assert not open_to_anyone, f"GET {path} refuses anonymous callers but its schema says it is open"
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("path", ["/api/v1/doctors/", "/api/v1/slots/", "/api/v1/opd-schedules/"])
def test_public_appointment_reads_document_anonymous_access(api, path):
    assert api.get(path).status_code == 200
    assert {} in openapi()["paths"][path]["get"]["security"]


def test_schema_lists_each_security_requirement_once():
    for operations in openapi()["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "security" in operation:
                requirements = [tuple(sorted(r)) for r in operation["security"]]
                assert len(requirements) == len(set(requirements))


def test_blank_hospital_email_is_accepted_and_answered_as_documented(admin_client):
    document = openapi()
    response = admin_client.post(
        "/api/v1/hospitals/", {"name": "Blank Mail", "registration_number": "BM-1", "email": ""}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["email"] == ""
    assert_response_documented(document, "/api/v1/hospitals/", "post", response)
    detail = admin_client.get(f"/api/v1/hospitals/{response.json()['id']}/")
    assert_response_documented(document, "/api/v1/hospitals/{id}/", "get", detail)


def test_blank_blood_bank_email_is_documented_in_request_and_response(admin_client):
    document = openapi()
    request_email = document["components"]["schemas"]["BloodBankInRequest"]["properties"]["email"]
    assert {"enum": [""]} in request_email["anyOf"]
    response = admin_client.post(
        "/api/v1/blood-banks/", {"name": "Blank Mail Bank", "license_number": "BB-1", "email": ""}, format="json"
    )
    assert response.status_code == 201
    assert_response_documented(document, "/api/v1/blood-banks/", "post", response)


def test_invalid_email_still_rejected_with_400(admin_client):
    response = admin_client.post(
        "/api/v1/hospitals/", {"name": "Bad Mail", "registration_number": "BM-2", "email": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "email"


@pytest.mark.parametrize("path", ["/appointment/opd/update/{id}/"])
def test_put_aliases_of_partial_update_document_a_partial_body(path):
    body = openapi()["paths"][path]["put"]["requestBody"]
    assert not body.get("required")
    assert re.search(r"/Patched\w+$", body["content"]["application/json"]["schema"]["$ref"])


def test_hospital_put_alias_with_no_body_is_refused_like_the_canonical_put(admin_client, hospital):
    response = admin_client.put(f"/hospital/update/{hospital.pk}/")
    assert response.status_code == 400
    assert admin_client.put(f"/api/v1/hospitals/{hospital.pk}/").status_code == 400


def test_page_and_page_size_below_one_are_refused_as_the_schema_says(api, hospital):
    parameters = {p["name"]: p for p in openapi()["paths"]["/api/v1/hospitals/{id}/floors/"]["get"]["parameters"]}
    assert parameters["page"]["schema"]["minimum"] == 1 and parameters["page_size"]["schema"]["minimum"] == 1
    assert api.get(f"/api/v1/hospitals/{hospital.pk}/floors/", {"page_size": 0}).status_code == 400
    assert api.get(f"/api/v1/hospitals/{hospital.pk}/floors/", {"page": 0}).status_code == 404
    assert api.get(f"/api/v1/hospitals/{hospital.pk}/floors/", {"page": 1, "page_size": 1}).status_code == 200


@pytest.mark.parametrize(
    "path,name",
    [
        ("/api/v1/users/", "hospital_id"),
        ("/api/v1/emergencies/", "reporter_id"),
        ("/api/v1/activity/", "actor_id"),
        ("/api/v1/blood-requests/", "blood_bank_id"),
        ("/api/v1/beds/", "ward_id"),
    ],
)
def test_id_filters_are_documented_as_bounded_integers(path, name):
    parameters = {p["name"]: p for p in openapi()["paths"][path]["get"]["parameters"]}
    assert parameters[name]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def test_decimal_filters_keep_their_type_and_bounds():
    parameters = {p["name"]: p for p in openapi()["paths"]["/api/v1/hospitals/"]["get"]["parameters"]}
    assert parameters["radius_km"]["schema"]["type"] == "number"
    assert parameters["radius_km"]["schema"]["minimum"] == 0.001


def test_typed_text_filters_are_documented_as_never_empty(api):
    parameters = {p["name"]: p for p in openapi()["paths"]["/api/v1/slots/"]["get"]["parameters"]}
    assert parameters["from"]["schema"]["minLength"] == 1
    assert "minLength" not in parameters["department"]["schema"]  # a CharFilter: "" means no filter
    assert api.get("/api/v1/slots/", {"from": ""}).status_code == 400
    assert api.get("/api/v1/slots/", {"department": ""}).status_code == 200


def test_idempotency_key_header_is_documented_with_its_pattern(patient_client):
    parameters = {p["name"]: p for p in openapi()["paths"]["/api/v1/appointments/"]["post"]["parameters"]}
    assert parameters["Idempotency-Key"]["schema"]["pattern"] == "^[!-~]{1,255}$"
    response = patient_client.post("/api/v1/appointments/", {"slot_id": 1}, format="json", HTTP_IDEMPOTENCY_KEY="a b")
    assert response.status_code == 400
