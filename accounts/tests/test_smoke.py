import pytest

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_register_login_profile_roundtrip(api):
    body = {"username": "asha", "fullname": "Asha Rao", "email": "asha@example.org", "password": "Str0ng-Pass-99"}
    created = api.post("/auth/register", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["user"]["role"] == "user"
    login = api.post("/api/v1/auth/login/", {"username": "ASHA@example.org", "password": "Str0ng-Pass-99"})
    assert login.status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Bearer " + login.json()["access"])
    profile = api.get("/auth/profile")
    assert profile.status_code == 200 and profile.json()["username"] == "asha"


def test_unknown_url_is_json_404(api):
    response = api.get("/nope")
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"


def test_login_wrong_password_401(api, patient):
    response = api.post("/auth/login", {"username": patient.username, "password": PASSWORD + "x"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"]
