"""U+0000 where a client can put text (query parameter, JSON string) is one 400 `null_character`, and in
a path a 404; never a 500 from PostgreSQL, which cannot hold it in text or jsonb."""

import pytest

from hms.api.null_characters import null_character_path
from hospitals.models import Hospital
from hospitals.tests.test_hospitals_api import admin_body, hospital_body

pytestmark = pytest.mark.django_db


def only_error(response):
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def test_null_character_in_a_body_field_is_a_400_naming_the_field_and_creates_nothing(admin_client):
    response = admin_client.post("/api/v1/hospitals", hospital_body(name="Ruby\x00Hall"), format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert only_error(response) | {"detail": None} == {"code": "null_character", "attr": "name", "detail": None}
    assert not Hospital.objects.filter(registration_number="MH-PUNE-0001").exists()


def test_null_character_in_a_nested_body_field_names_the_dotted_field(admin_client):
    body = {**hospital_body(), "admin": admin_body(fullname="Ruby\x00Admin")}

    response = admin_client.post("/api/v1/hospitals", body, format="json")

    assert response.status_code == 400
    assert only_error(response)["code"] == "null_character"
    assert only_error(response)["attr"] == "admin.fullname"
    assert not Hospital.objects.exists()


def test_null_character_as_a_json_escape_is_refused_and_changes_nothing(admin_client, hospital):
    raw = b'{"name": "Ruby\\u0000Hall"}'

    response = admin_client.generic("PATCH", f"/api/v1/hospitals/{hospital.pk}", raw, content_type="application/json")

    assert response.status_code == 400
    assert only_error(response)["code"] == "null_character"
    name = hospital.name
    hospital.refresh_from_db()
    assert hospital.name == name


@pytest.mark.parametrize("query", ["city=Pu%00ne", "search=%00", "page=1%00", "ordering=name%00", "a%00b=1"])
def test_null_character_in_a_query_parameter_is_a_400_naming_the_parameter(api, hospital, query):
    response = api.get(f"/api/v1/hospitals?{query}")

    assert response.status_code == 400
    error = only_error(response)
    assert error["code"] == "null_character"
    assert error["attr"] == query.split("=")[0]


@pytest.mark.parametrize(
    "path", ["/api/v1/hospitals/%00", "/api/v1/hospitals/1%00/availability", "/api/v1/%00", "/auth/%00login"]
)
def test_null_character_in_the_path_names_nothing_404(api, hospital, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }


def test_null_character_in_a_fhir_path_is_a_404_operation_outcome(admin_client):
    response = admin_client.get("/fhir/R4/Patient/%00")

    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_null_character_in_a_signed_in_users_filter_is_refused_before_any_query(
    admin_client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = admin_client.get("/api/v1/emergencies?status=%00")

    assert response.status_code == 400
    assert only_error(response)["attr"] == "status"


def test_text_without_null_characters_passes(api, hospital):
    assert api.get("/api/v1/hospitals?city=Pune&search=x%01y").status_code == 200


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"a": "x"}, None),
        ("\x00", ""),
        ({"a": {"b": [1, "ok", {"c": "no\x00"}]}}, "a.b.2.c"),
        ({"k\x00": 1}, "k\x00"),
        ([0, ["\x00"]], "1.0"),
    ],
)
def test_null_character_path_names_the_first_string_holding_one(data, path):
    assert null_character_path(data) == path
