"""One error shape for every 4xx/5xx, and bodies that crash naive APIs answered with a clean 4xx."""

import json

import pytest
from django.db import DataError, OperationalError
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import assert_error, login

pytestmark = pytest.mark.django_db

MEGABYTE_STRING = "x" * 1_000_000
REGISTER = {"username": "asha", "fullname": "Asha Rao", "email": "asha@example.org", "password": "Str0ng-Pass-99"}


@pytest.fixture
def quiet_api():
    """A client that returns 500 responses instead of re-raising the view's exception."""
    return APIClient(raise_request_exception=False)


def post_raw(client, path, body, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type)


# --- the shape for each status --------------------------------------------------------------


def test_400_names_each_bad_field(api):
    body = assert_error(api.post("/auth/register", {"email": "bad"}, format="json"), 400)
    assert body["type"] == "validation_error"
    assert {e["attr"] for e in body["errors"]} == {"username", "fullname", "email", "password"}


def test_401_without_token(api):
    response = api.get("/auth/profile")
    assert_error(response, 401, code="not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_403_for_a_role_that_may_not(patient_client):
    body = assert_error(patient_client.get("/api/v1/users"), 403, code="permission_denied")
    assert body["type"] == "client_error"


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/users/1/nope", "/auth/nope", "/static/nope.js"])
def test_404_for_unknown_urls_is_json(api, path):
    assert_error(api.get(path), 404)


def test_404_for_unknown_object(admin_client):
    assert_error(admin_client.get("/api/v1/users/987654"), 404, code="not_found")


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/auth/login"),
        ("put", "/auth/register"),
        ("get", "/auth/refresh"),
        ("delete", "/auth/profile"),
        ("put", "/auth/profile"),
        ("get", "/auth/change-password"),
        ("delete", "/api/v1/users"),
        ("put", "/api/v1/users"),
    ],
)
def test_405_for_methods_a_path_does_not_allow(admin_client, method, path):
    response = getattr(admin_client, method)(path)
    assert_error(response, 405, code="method_not_allowed")
    assert response["Allow"]


def test_409_for_a_duplicate(api, patient):
    body = assert_error(api.post("/auth/register", REGISTER | {"username": patient.username}, format="json"), 409)
    assert body["type"] == "client_error"


def test_413_for_a_body_over_one_mebibyte(api, patient_client):
    big = json.dumps({"username": "a", "password": "x" * (1024 * 1024)})
    for client, path in ((api, "/auth/login"), (api, "/auth/register"), (patient_client, "/auth/profile")):
        response = (
            post_raw(client, path, big)
            if path != "/auth/profile"
            else client.generic("PATCH", path, big, content_type="application/json")
        )
        assert_error(response, 413, code="payload_too_large")


def test_body_of_exactly_one_mebibyte_is_read(api):
    padding = 1024 * 1024 - len(json.dumps({"username": "a", "password": ""}))
    body = json.dumps({"username": "a", "password": "x" * padding})
    assert len(body) == 1024 * 1024
    assert_error(post_raw(api, "/auth/login", body), 400, code="max_length", attr="password")


@pytest.mark.parametrize(
    "content_type",
    ["", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html"],
)
def test_415_for_a_body_that_is_not_json(api, content_type):
    response = post_raw(api, "/auth/login", b'{"username": "a", "password": "b"}', content_type=content_type)
    assert_error(response, 415, code="unsupported_media_type")


def test_415_on_authenticated_writes_too(patient_client, patient):
    response = patient_client.generic("PATCH", "/auth/profile", "fullname=Hacker", content_type="text/plain")
    assert_error(response, 415)
    patient.refresh_from_db()
    assert patient.fullname != "Hacker"


def test_429_for_throttled_logins(api, patient):
    for _ in range(5):
        login(api, patient.username, "Wrong-Pass-0")
    response = login(api, patient.username, PASSWORD)
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0


def test_500_is_the_error_shape_without_exception_text(quiet_api, patient, monkeypatch):
    from accounts import views

    def explode(self, request):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(views.ProfileView, "get", explode)
    quiet_api.force_authenticate(patient)
    response = quiet_api.get("/auth/profile")
    assert_error(response, 500)
    assert "hunter2" not in response.content.decode() and "RuntimeError" not in response.content.decode()


def test_500_handler_outside_drf_is_json():
    from hms.api.views import server_error

    response = server_error(None)
    assert response.status_code == 500
    assert json.loads(response.content) == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "Server error.", "attr": None}],
    }


def test_database_down_during_a_request_is_503_with_retry_after(quiet_api, patient, monkeypatch):
    from accounts import views

    def lost(self, request):
        raise OperationalError("connection to server at 10.0.0.5 failed: password authentication failed")

    monkeypatch.setattr(views.ProfileView, "get", lost)
    quiet_api.force_authenticate(patient)
    response = quiet_api.get("/auth/profile")
    assert_error(response, 503, code="service_unavailable")
    assert response["Retry-After"]
    assert "10.0.0.5" not in response.content.decode()


def test_constraint_violation_from_the_database_is_409_without_its_text(quiet_api, patient, monkeypatch):
    from django.db import IntegrityError

    from accounts import views

    def clash(self, request):
        raise IntegrityError('duplicate key value violates unique constraint "user_email_ci_unique"')

    monkeypatch.setattr(views.ProfileView, "get", clash)
    quiet_api.force_authenticate(patient)
    response = quiet_api.get("/auth/profile")
    assert_error(response, 409, code="conflict")
    assert "user_email_ci_unique" not in response.content.decode()


def test_duplicate_together_with_other_errors_is_400_naming_all(api, patient):
    body = REGISTER | {"username": patient.username, "email": "not-an-email"}
    response = api.post("/auth/register", body, format="json")
    errors = assert_error(response, 400)["errors"]
    assert {(e["attr"], e["code"]) for e in errors} == {("username", "unique"), ("email", "invalid")}


def test_value_the_database_rejects_is_400_not_503(quiet_api, patient, monkeypatch):
    from accounts import views

    def bad_value(self, request):
        raise DataError("value too long for type character varying(20)")

    monkeypatch.setattr(views.ProfileView, "get", bad_value)
    quiet_api.force_authenticate(patient)
    response = quiet_api.get("/auth/profile")
    assert_error(response, 400)
    assert "varying" not in response.content.decode()


# --- bodies that crash naive APIs -----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"username": "a", "password": ',
        b"{'username': 'a'}",
        b'{"username": "a",}',
        b"\xff\xfe\x00{",
        b'{"username": NaN, "password": "x"}',
        b'{"username": "a", "password": Infinity}',
        b'{"hospital_id": 1e400}',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
)
def test_malformed_json_is_400(quiet_api, raw):
    response = post_raw(quiet_api, "/auth/login", raw)
    assert_error(response, 400, code="parse_error")


@pytest.mark.parametrize(
    "raw", [b"[]", b'[{"username": "a", "password": "b"}]', b'"a string"', b"42", b"true", b"null"]
)
def test_json_that_is_not_an_object_is_400(quiet_api, raw):
    for path in ("/auth/login", "/auth/register", "/auth/refresh"):
        assert_error(post_raw(quiet_api, path, raw), 400)


def test_json_that_is_not_an_object_on_authenticated_endpoints_is_400(admin_client, patient_client):
    admin_client.raise_request_exception = False
    patient_client.raise_request_exception = False
    for raw in (b"[]", b'"x"', b"7"):
        assert_error(post_raw(admin_client, "/api/v1/users", raw), 400)
        assert_error(patient_client.generic("PATCH", "/auth/profile", raw, content_type="application/json"), 400)
        assert_error(post_raw(patient_client, "/auth/change-password", raw), 400)
        assert_error(post_raw(patient_client, "/auth/logout", raw), 400)


@pytest.mark.parametrize("value", [{"a": 1}, ["a"], True, None])
def test_wrong_json_types_for_string_fields_are_400_naming_the_field(api, value):
    response = api.post("/auth/register", REGISTER | {"fullname": value}, format="json")
    assert_error(response, 400, attr="fullname")
    assert not User.objects.exists()


@pytest.mark.parametrize("value", ["abc", "1; DROP TABLE accounts_user", [1], {"id": 1}, True, "", -1, 0])
def test_string_or_junk_where_an_integer_id_is_expected_is_400(admin_client, value):
    body = REGISTER | {"role": "ambulance_driver", "hospital_id": value}
    response = admin_client.post("/api/v1/users", body, format="json")
    assert_error(response, 400, attr="hospital_id")
    assert not User.objects.filter(username="asha").exists()


def test_huge_integer_id_is_400_not_500(admin_client):
    body = REGISTER | {"role": "ambulance_driver", "hospital_id": 10**30}
    assert_error(admin_client.post("/api/v1/users", body, format="json"), 400, attr="hospital_id")


@pytest.mark.parametrize("field", ["username", "fullname", "email", "password", "phone_num", "role", "blood_group"])
def test_a_one_megabyte_string_in_any_register_field_is_400_naming_it(api, field):
    response = api.post("/auth/register", REGISTER | {field: MEGABYTE_STRING}, format="json")
    assert_error(response, 400, attr=field)
    assert not User.objects.exists()


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_one_megabyte_string_in_login_is_400(api, field):
    body = {"username": "a", "password": "b"} | {field: MEGABYTE_STRING}
    assert_error(api.post("/auth/login", body, format="json"), 400, attr=field)


@pytest.mark.parametrize("field", ["fullname", "email", "phone_num", "blood_group"])
def test_a_one_megabyte_string_in_any_profile_field_is_400(patient_client, field):
    assert_error(patient_client.patch("/auth/profile", {field: MEGABYTE_STRING}, format="json"), 400, attr=field)


@pytest.mark.parametrize("field", ["old_password", "new_password"])
def test_a_one_megabyte_string_in_change_password_is_400(patient_client, field):
    body = {"old_password": PASSWORD, "new_password": "Brand-New-Pass-5"} | {field: MEGABYTE_STRING}
    assert_error(patient_client.post("/auth/change-password", body, format="json"), 400, attr=field)


def test_a_one_megabyte_refresh_token_is_400(api, patient_client):
    assert_error(api.post("/auth/refresh", {"refresh": MEGABYTE_STRING}, format="json"), 400, attr="refresh")
    assert_error(patient_client.post("/auth/logout", {"refresh": MEGABYTE_STRING}, format="json"), 400, attr="refresh")


@pytest.mark.parametrize("field", ["username", "fullname", "email", "phone_num"])
def test_a_one_megabyte_string_in_any_user_field_is_400(admin_client, field):
    response = admin_client.post("/api/v1/users", REGISTER | {field: MEGABYTE_STRING}, format="json")
    assert_error(response, 400, attr=field)


def test_null_characters_are_400(api, admin_client):
    assert_error(
        api.post("/auth/register", REGISTER | {"fullname": "Asha\x00Rao"}, format="json"), 400, attr="fullname"
    )
    assert_error(api.post("/auth/login", {"username": "a\x00", "password": "b"}, format="json"), 400, attr="username")
    assert_error(admin_client.get("/api/v1/users", {"search": "a\x00b"}), 400)


def test_unknown_fields_are_ignored(api):
    response = api.post("/auth/register", REGISTER | {"favourite_colour": "blue", "__proto__": {"x": 1}}, format="json")
    assert response.status_code == 201, response.content


# --- passwords longer than bcrypt's 72 bytes ------------------------------------------------

BCRYPT_FIRST = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def test_bcrypt_sha256_is_the_configured_default_hasher():
    from django.conf import settings as django_settings

    configured = [h for h in django_settings.PASSWORD_HASHERS if "MD5" not in h]
    assert configured[0] == "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"


def test_long_password_works_and_is_not_truncated_at_72_bytes(settings, api):
    settings.PASSWORD_HASHERS = BCRYPT_FIRST
    password = "Long-Pass-" + "p" * 62 + "-tail-ABC-" + "q" * 40  # 122 characters
    assert len(password.encode()) > 100
    response = api.post("/auth/register", REGISTER | {"password": password}, format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(username="asha")
    assert user.password.startswith("bcrypt_sha256$")
    assert login(api, "asha", password).status_code == 200
    same_first_72_bytes = password[:72] + "X" * (len(password) - 72)
    assert same_first_72_bytes != password and same_first_72_bytes[:72] == password[:72]
    assert login(api, "asha", same_first_72_bytes).status_code == 401
    assert login(api, "asha", password[:72]).status_code == 401


def test_long_multibyte_password_is_not_truncated(settings, api):
    settings.PASSWORD_HASHERS = BCRYPT_FIRST
    password = "Pässwörd-" + "ü" * 40 + "-end-1"  # 55 characters, over 72 bytes in UTF-8
    assert len(password.encode()) > 72
    assert api.post("/auth/register", REGISTER | {"password": password}, format="json").status_code == 201
    assert login(api, "asha", password).status_code == 200
    assert login(api, "asha", password[:-1] + "2").status_code == 401


def test_password_over_the_field_limit_is_400(api):
    user = UserFactory()
    assert_error(login(api, user.username, "p" * 1025), 400, code="max_length", attr="password")
