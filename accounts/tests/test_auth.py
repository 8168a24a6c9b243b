"""Registration, the three logins, refresh rotation, logout, change-password and profile (API.md 3, 14)."""

import pytest

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import assert_error, bearer, login

pytestmark = pytest.mark.django_db

USER_JSON_FIELDS = {
    "id",
    "username",
    "fullname",
    "email",
    "phone_num",
    "role",
    "hospital_id",
    "blood_group",
    "is_active",
    "date_joined",
}
AUTH_PREFIXES = ["/auth", "/api/v1/auth"]


def register_body(**overrides):
    body = {
        "username": "asha",
        "fullname": "Asha Rao",
        "email": "asha@example.org",
        "password": "Str0ng-Pass-99",
        "phone_num": "+91 98765 43210",
    }
    body.update(overrides)
    return body


# --- register -------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_register_creates_patient_by_default_and_returns_user_and_tokens(api, prefix):
    response = api.post(f"{prefix}/register", register_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"user", "access", "refresh"}
    assert set(body["user"]) == USER_JSON_FIELDS
    assert body["user"]["role"] == "user" and body["user"]["hospital_id"] is None
    user = User.objects.get(username="asha")
    assert user.role == "user" and not user.is_staff and not user.is_superuser
    assert user.check_password("Str0ng-Pass-99") and user.password != "Str0ng-Pass-99"
    assert bearer(body["access"]).get("/auth/profile").json()["id"] == user.pk


def test_register_as_donor_with_blood_group(api):
    response = api.post("/auth/register", register_body(role="donor", blood_group="AB-"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"]["role"] == "donor"
    assert User.objects.get(username="asha").blood_group == "AB-"


@pytest.mark.parametrize("role", ["admin", "hospital_admin", "doctor", "ambulance_driver", "superuser", ""])
def test_register_with_any_other_role_is_400_naming_role(api, role):
    response = api.post("/auth/register", register_body(role=role), format="json")
    assert_error(response, 400, attr="role")
    assert not User.objects.filter(username="asha").exists()


@pytest.mark.parametrize("taken", ["ASHA", "asha", "Asha"])
def test_register_duplicate_username_case_insensitive_is_409(api, taken):
    UserFactory(username="asha", email="first@example.org")
    response = api.post("/auth/register", register_body(username=taken), format="json")
    assert_error(response, 409, code="unique", attr="username")
    assert User.objects.filter(username__iexact="asha").count() == 1


def test_register_duplicate_email_case_insensitive_is_409(api):
    UserFactory(username="first", email="asha@example.org")
    response = api.post("/auth/register", register_body(email="ASHA@Example.ORG"), format="json")
    assert_error(response, 409, code="unique", attr="email")
    assert not User.objects.filter(username="asha").exists()


@pytest.mark.parametrize(
    "password,code",
    [
        ("short1!", "password_too_short"),
        ("password", "password_too_common"),
        ("84736251947362", "password_entirely_numeric"),
        ("Asha@Example.org", "password_too_similar"),
    ],
)
def test_register_weak_password_is_400_naming_password(api, password, code):
    response = api.post("/auth/register", register_body(password=password), format="json")
    assert_error(response, 400, code=code, attr="password")
    assert not User.objects.filter(username="asha").exists()


def test_register_missing_fields_are_each_named(api):
    response = api.post("/auth/register", {}, format="json")
    body = assert_error(response, 400, code="required")
    assert {e["attr"] for e in body["errors"]} == {"username", "fullname", "email", "password"}


@pytest.mark.parametrize("username", ["asha rao", "asha<script>", "a/b", "tab\there"])
def test_register_username_with_forbidden_characters_is_400(api, username):
    response = api.post("/auth/register", register_body(username=username), format="json")
    assert_error(response, 400, attr="username")
    assert User.objects.count() == 0


def test_register_invalid_email_and_blood_group_are_400(api):
    response = api.post("/auth/register", register_body(email="not-an-email", blood_group="C+"), format="json")
    body = assert_error(response, 400)
    assert {e["attr"] for e in body["errors"]} == {"email", "blood_group"}


def test_register_ignores_privileged_fields(api, hospital):
    body = register_body(is_staff=True, is_superuser=True, hospital_id=hospital.pk, is_active=False, auth_version=9)
    response = api.post("/auth/register", body, format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(username="asha")
    assert (user.role, user.is_staff, user.is_superuser, user.hospital_id, user.is_active) == (
        "user",
        False,
        False,
        None,
        True,
    )
    assert user.auth_version == 0


def test_registered_password_is_the_login_password(api):
    api.post("/auth/register", register_body(), format="json")
    assert login(api, "asha", "Str0ng-Pass-99").status_code == 200


# --- login ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_login_by_username_returns_tokens_and_user(api, patient, prefix):
    response = login(api, patient.username, PASSWORD, path=f"{prefix}/login")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["id"] == patient.pk and set(body["user"]) == USER_JSON_FIELDS
    assert bearer(body["access"]).get("/auth/profile").status_code == 200


@pytest.mark.parametrize("identifier", ["email", "EMAIL", "USERNAME"])
def test_login_by_email_or_username_case_insensitive(api, patient, identifier):
    value = {"email": patient.email, "EMAIL": patient.email.upper(), "USERNAME": patient.username.upper()}[identifier]
    response = login(api, value, PASSWORD)
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == patient.pk


def test_login_by_email_still_works_when_another_username_equals_that_email(api):
    squatter = UserFactory(username="victim@example.org", email="squatter@example.org")
    victim = UserFactory(username="victim", email="victim@example.org")
    assert squatter.pk < victim.pk
    response = login(api, "victim@example.org", PASSWORD)
    assert response.status_code == 200, response.content
    # Both accounts share the test password: the username match wins, the same as a username login.
    assert response.json()["user"]["id"] == squatter.pk
    victim.set_password("Victims-Own-Pass-7")
    victim.save()
    response = login(api, "victim@example.org", "Victims-Own-Pass-7")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == victim.pk


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_login_wrong_password_is_401(api, patient, prefix):
    response = login(api, patient.username, PASSWORD + "x", path=f"{prefix}/login")
    assert_error(response, 401, code="invalid_credentials")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_login_unknown_user_is_401(api):
    assert_error(login(api, "nobody", PASSWORD), 401, code="invalid_credentials")


def test_login_inactive_user_is_401(api, patient):
    User.objects.filter(pk=patient.pk).update(is_active=False)
    assert_error(login(api, patient.username, PASSWORD), 401, code="invalid_credentials")


def test_login_missing_fields_is_400(api):
    body = assert_error(api.post("/auth/login", {}, format="json"), 400, code="required")
    assert {e["attr"] for e in body["errors"]} == {"username", "password"}


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_admin_login_admits_admin(api, admin_user, prefix):
    response = login(api, admin_user.username, PASSWORD, path=f"{prefix}/admin/login")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["role"] == "admin"


@pytest.mark.parametrize("who", ["patient", "donor", "hospital_admin", "doctor_user", "driver_user"])
def test_admin_login_with_valid_credentials_of_another_role_is_403(api, request, who):
    user = request.getfixturevalue(who)
    response = login(api, user.username, PASSWORD, path="/auth/admin/login")
    assert_error(response, 403, code="permission_denied")
    assert "access" not in response.json()


def test_admin_login_wrong_password_is_401(api, admin_user):
    assert_error(login(api, admin_user.username, "wrong-pass", path="/auth/admin/login"), 401)


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_hospital_login_admits_hospital_admin_with_hospital_id(api, hospital_admin, hospital, prefix):
    response = login(api, hospital_admin.username, PASSWORD, path=f"{prefix}/hospital/login")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["hospital_id"] == hospital.pk
    assert response.json()["user"]["role"] == "hospital_admin"


@pytest.mark.parametrize("who", ["admin_user", "patient", "donor", "doctor_user", "driver_user"])
def test_hospital_login_with_valid_credentials_of_another_role_is_403(api, request, who):
    user = request.getfixturevalue(who)
    assert_error(login(api, user.username, PASSWORD, path="/auth/hospital/login"), 403, code="permission_denied")


def test_hospital_login_wrong_password_is_401(api, hospital_admin):
    assert_error(login(api, hospital_admin.username, "nope-nope", path="/auth/hospital/login"), 401)


# --- refresh --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_refresh_rotates_and_old_refresh_is_then_401(api, patient, prefix):
    pair = login(api, patient.username, PASSWORD).json()
    response = api.post(f"{prefix}/refresh", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    new = response.json()
    assert set(new) == {"access", "refresh"} and new["refresh"] != pair["refresh"]
    assert bearer(new["access"]).get("/auth/profile").status_code == 200
    assert_error(api.post(f"{prefix}/refresh", {"refresh": pair["refresh"]}, format="json"), 401)
    # The rotated token still works once.
    assert api.post(f"{prefix}/refresh", {"refresh": new["refresh"]}, format="json").status_code == 200


def test_refresh_with_garbage_or_access_token_is_401(api, patient):
    pair = login(api, patient.username, PASSWORD).json()
    assert_error(api.post("/auth/refresh", {"refresh": "not.a.token"}, format="json"), 401)
    assert_error(api.post("/auth/refresh", {"refresh": pair["access"]}, format="json"), 401)


def test_refresh_missing_field_is_400(api):
    assert_error(api.post("/auth/refresh", {}, format="json"), 400, code="required", attr="refresh")


def test_refresh_of_deactivated_user_is_401(api, patient):
    pair = login(api, patient.username, PASSWORD).json()
    User.objects.filter(pk=patient.pk).update(is_active=False)
    assert_error(api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json"), 401)


# --- logout ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_logout_revokes_the_access_token_used_and_the_refresh_given(api, patient, prefix):
    pair = login(api, patient.username, PASSWORD).json()
    other_session = login(api, patient.username, PASSWORD).json()
    client = bearer(pair["access"])
    response = client.post(f"{prefix}/logout", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    assert_error(client.get("/auth/profile"), 401)
    assert_error(api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json"), 401)
    # Another session of the same user is untouched.
    assert bearer(other_session["access"]).get("/auth/profile").status_code == 200
    assert api.post("/auth/refresh", {"refresh": other_session["refresh"]}, format="json").status_code == 200


def test_logout_without_refresh_revokes_the_access_token(api, patient):
    pair = login(api, patient.username, PASSWORD).json()
    client = bearer(pair["access"])
    assert client.post("/auth/logout", {}, format="json").status_code == 200
    assert_error(client.get("/auth/profile"), 401)


def test_logout_cannot_revoke_another_users_refresh(api, patient, other_patient):
    mine = login(api, patient.username, PASSWORD).json()
    theirs = login(api, other_patient.username, PASSWORD).json()
    assert bearer(mine["access"]).post("/auth/logout", {"refresh": theirs["refresh"]}, format="json").status_code == 200
    assert api.post("/auth/refresh", {"refresh": theirs["refresh"]}, format="json").status_code == 200


def test_logout_requires_a_token(api):
    assert_error(api.post("/auth/logout", {}, format="json"), 401)


# --- change password ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_change_password_wrong_old_password_is_400(api, patient, prefix):
    pair = login(api, patient.username, PASSWORD).json()
    response = bearer(pair["access"]).post(
        f"{prefix}/change-password", {"old_password": "wrong", "new_password": "Brand-New-Pass-5"}, format="json"
    )
    assert_error(response, 400, attr="old_password")
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)
    assert bearer(pair["access"]).get("/auth/profile").status_code == 200


def test_change_password_weak_new_password_is_400_naming_new_password(api, patient):
    pair = login(api, patient.username, PASSWORD).json()
    response = bearer(pair["access"]).post(
        "/auth/change-password", {"old_password": PASSWORD, "new_password": "12345"}, format="json"
    )
    assert_error(response, 400, attr="new_password")
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)


def test_change_password_refuses_tokens_issued_before_and_the_new_pair_works(api, patient):
    first = login(api, patient.username, PASSWORD).json()
    second = login(api, patient.username, PASSWORD).json()
    response = bearer(first["access"]).post(
        "/auth/change-password", {"old_password": PASSWORD, "new_password": "Brand-New-Pass-5"}, format="json"
    )
    assert response.status_code == 200, response.content
    new = response.json()
    assert {"access", "refresh"} <= set(new)
    for old in (first, second):
        assert_error(bearer(old["access"]).get("/auth/profile"), 401)
        assert_error(api.post("/auth/refresh", {"refresh": old["refresh"]}, format="json"), 401)
    assert bearer(new["access"]).get("/auth/profile").status_code == 200
    assert api.post("/auth/refresh", {"refresh": new["refresh"]}, format="json").status_code == 200
    assert_error(login(api, patient.username, PASSWORD), 401)
    assert login(api, patient.username, "Brand-New-Pass-5").status_code == 200


def test_change_password_requires_a_token(api):
    response = api.post("/auth/change-password", {"old_password": "a", "new_password": "b"}, format="json")
    assert_error(response, 401)


# --- profile --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", AUTH_PREFIXES)
def test_profile_get_returns_the_callers_user_json(patient_client, patient, prefix):
    response = patient_client.get(f"{prefix}/profile")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_JSON_FIELDS
    assert body["id"] == patient.pk and body["username"] == patient.username
    assert "password" not in response.content.decode()


def test_profile_patch_changes_personal_fields(patient_client, patient):
    changes = {"fullname": "New Name", "email": "new@example.org", "phone_num": "12345", "blood_group": "B-"}
    response = patient_client.patch("/auth/profile", changes, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert {k: getattr(patient, k) for k in changes} == changes
    assert {k: response.json()[k] for k in changes} == changes


def test_profile_patch_ignores_role_username_and_privileges(patient_client, patient, hospital):
    attempt = {
        "role": "admin",
        "username": "boss",
        "is_staff": True,
        "is_superuser": True,
        "hospital_id": hospital.pk,
        "is_active": False,
        "password": "Another-Pass-77",
    }
    response = patient_client.patch("/auth/profile", attempt, format="json")
    assert response.status_code in (200, 400), response.content
    patient.refresh_from_db()
    assert (patient.role, patient.username, patient.is_staff, patient.is_superuser) == (
        "user",
        patient.username,
        False,
        False,
    )
    assert patient.username != "boss" and patient.hospital_id is None and patient.is_active
    assert patient.check_password(PASSWORD)


def test_profile_email_taken_by_another_user_is_409(patient_client, patient, other_patient):
    response = patient_client.patch("/auth/profile", {"email": other_patient.email.upper()}, format="json")
    assert_error(response, 409, code="unique", attr="email")
    patient.refresh_from_db()
    assert patient.email != other_patient.email


def test_profile_keeping_own_email_in_other_case_is_200(patient_client, patient):
    response = patient_client.patch("/auth/profile", {"email": patient.email.upper()}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("field,value", [("email", "nope"), ("blood_group", "Z+"), ("fullname", "x" * 151)])
def test_profile_invalid_values_are_400_naming_the_field(patient_client, patient, field, value):
    before = getattr(patient, field)
    assert_error(patient_client.patch("/auth/profile", {field: value}, format="json"), 400, attr=field)
    patient.refresh_from_db()
    assert getattr(patient, field) == before


def test_profile_requires_a_token(api):
    assert_error(api.get("/auth/profile"), 401)
    assert_error(api.patch("/auth/profile", {"fullname": "x"}, format="json"), 401)
