"""Passwords are used exactly as typed; usernames are NFKC-normalised and never collide with an
e-mail address of another account (issue 22, "found from outside")."""

import pytest

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import assert_error, bearer, login

pytestmark = pytest.mark.django_db

SPACED = "  Str0ng-Pass!word-91  "
TRIMMED = SPACED.strip()
LOGIN_PATHS = ["/auth/login", "/api/v1/auth/login", "/auth/admin/login", "/auth/hospital/login"]


def register_body(**overrides):
    body = {"username": "meera", "fullname": "Meera Iyer", "email": "meera@example.org", "password": SPACED}
    return {**body, **overrides}


def hospital_body(**overrides):
    body = {
        "name": "Sahyadri Hospital",
        "registration_number": "MH-PUNE-0420",
        "hospital_type": "private",
        "address": "30 Karve Road",
        "city": "Pune",
        "state": "Maharashtra",
        "country": "India",
        "postal_code": "411004",
        "latitude": 18.5,
        "longitude": 73.8,
    }
    return {**body, **overrides}


def doctor_body(hospital, **account):
    return {
        "user": {"username": "dr.rao", "fullname": "Vikram Rao", "email": "rao@example.org", **account},
        "hospital_id": hospital.pk,
        "specialization": "Cardiology",
        "department": "Cardiology",
        "qualification": "MBBS, DM",
        "license_number": "MCI-4242",
        "experience_years": 9,
        "consultation_fee": 600,
    }


# --- passwords are never altered ------------------------------------------------------------


def test_register_keeps_surrounding_spaces_of_the_password(api):
    response = api.post("/auth/register", register_body(), format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(username="meera")
    assert user.check_password(SPACED) and not user.check_password(TRIMMED)
    assert login(api, "meera", SPACED).status_code == 200
    assert_error(login(api, "meera", TRIMMED), 401, code="invalid_credentials")


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_every_login_compares_the_password_as_typed(api, hospital, path):
    role = {"/auth/admin/login": "admin", "/auth/hospital/login": "hospital_admin"}.get(path, "user")
    user = UserFactory(role=role, hospital=hospital if role == "hospital_admin" else None)
    user.set_password(SPACED)
    user.save()
    assert login(api, user.username, SPACED, path=path).status_code == 200
    assert_error(login(api, user.username, TRIMMED, path=path), 401, code="invalid_credentials")
    assert_error(login(api, user.username, f" {SPACED}", path=path), 401, code="invalid_credentials")


def test_change_password_keeps_surrounding_spaces_of_both_passwords(api, patient):
    patient.set_password(SPACED)
    patient.save()
    token = login(api, patient.username, SPACED).json()["access"]
    client = bearer(token)
    wrong_old = client.post(
        "/auth/change-password", {"old_password": TRIMMED, "new_password": " Brand-New-Pass-5 "}, format="json"
    )
    assert_error(wrong_old, 400, attr="old_password")
    patient.refresh_from_db()
    assert patient.check_password(SPACED)

    response = client.post(
        "/auth/change-password", {"old_password": SPACED, "new_password": " Brand-New-Pass-5 "}, format="json"
    )
    assert response.status_code == 200, response.content
    assert login(api, patient.username, " Brand-New-Pass-5 ").status_code == 200
    assert_error(login(api, patient.username, "Brand-New-Pass-5"), 401, code="invalid_credentials")


def test_admin_created_account_keeps_surrounding_spaces_of_the_password(admin_client, api):
    body = {"username": "clerk", "fullname": "Clerk One", "email": "clerk@example.org", "password": SPACED}
    response = admin_client.post("/api/v1/users", body, format="json")
    assert response.status_code == 201, response.content
    assert login(api, "clerk", SPACED).status_code == 200
    assert_error(login(api, "clerk", TRIMMED), 401, code="invalid_credentials")


def test_admin_password_reset_keeps_surrounding_spaces(admin_client, api, patient):
    response = admin_client.patch(f"/api/v1/users/{patient.pk}", {"password": SPACED}, format="json")
    assert response.status_code == 200, response.content
    assert login(api, patient.username, SPACED).status_code == 200
    assert_error(login(api, patient.username, TRIMMED), 401, code="invalid_credentials")


def test_hospital_admin_account_created_with_its_hospital_keeps_the_password(admin_client, api):
    admin = {"username": "sahyadri.admin", "fullname": "S Admin", "email": "s.admin@example.org", "password": SPACED}
    response = admin_client.post("/api/v1/hospitals", {**hospital_body(), "admin": admin}, format="json")
    assert response.status_code == 201, response.content
    assert login(api, "sahyadri.admin", SPACED, path="/auth/hospital/login").status_code == 200
    assert_error(login(api, "sahyadri.admin", TRIMMED, path="/auth/hospital/login"), 401, code="invalid_credentials")


def test_doctor_account_created_with_its_profile_keeps_the_password(admin_client, api, hospital):
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital, password=SPACED), format="json")
    assert response.status_code == 201, response.content
    assert login(api, "dr.rao", SPACED).status_code == 200
    assert_error(login(api, "dr.rao", TRIMMED), 401, code="invalid_credentials")


# --- usernames: one spelling per account ----------------------------------------------------


@pytest.mark.parametrize("look_alike", ["ａｄｍｉｎ", "ＡＤＭＩＮ", "ａdmin"])
def test_register_full_width_look_alike_of_a_username_is_409(api, look_alike):
    UserFactory(username="admin", email="root@example.org")
    response = api.post("/auth/register", register_body(username=look_alike), format="json")
    assert_error(response, 409, code="unique", attr="username")
    assert User.objects.count() == 1


def test_register_stores_the_normalised_username_and_login_accepts_either_spelling(api):
    response = api.post("/auth/register", register_body(username="ｍｅｅｒａ"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"]["username"] == "meera"
    assert User.objects.get().username == "meera"
    assert login(api, "meera", SPACED).status_code == 200
    assert login(api, "ｍｅｅｒａ", SPACED).status_code == 200


def test_login_with_a_look_alike_shares_the_failure_throttle_of_the_account(api, settings):
    UserFactory(username="admin", email="root@example.org")
    settings.THROTTLE_LOGIN_USERNAME = "3/15m"
    for _ in range(3):
        login(api, "ａｄｍｉｎ", "wrong-password")
    assert login(api, "admin", PASSWORD).status_code == 429


def test_username_that_normalises_to_a_forbidden_character_is_400(api):
    # "¼" is a word character, but NFKC makes it "1⁄4" (a fraction slash), which no username may hold.
    response = api.post("/auth/register", register_body(username="meera¼"), format="json")
    assert_error(response, 400, attr="username")
    assert not User.objects.exists()


def test_register_username_equal_to_another_accounts_email_is_409(api):
    UserFactory(username="ravi", email="ravi@example.org")
    response = api.post("/auth/register", register_body(username="RAVI@example.org"), format="json")
    assert_error(response, 409, code="unique", attr="username")
    assert User.objects.count() == 1


def test_register_email_equal_to_another_accounts_username_is_409(api):
    UserFactory(username="ravi@example.org", email="ravi.k@example.org")
    response = api.post("/auth/register", register_body(email="Ravi@Example.org"), format="json")
    assert_error(response, 409, code="unique", attr="email")
    assert User.objects.count() == 1


def test_register_username_equal_to_its_own_email_is_allowed(api):
    body = register_body(username="meera@example.org", email="meera@example.org")
    response = api.post("/auth/register", body, format="json")
    assert response.status_code == 201, response.content
    assert login(api, "meera@example.org", SPACED).status_code == 200


def test_profile_email_equal_to_another_accounts_username_is_409(patient_client, patient):
    UserFactory(username="taken@example.org", email="someone@example.org")
    before = patient.email
    response = patient_client.patch("/auth/profile", {"email": "TAKEN@example.org"}, format="json")
    assert_error(response, 409, code="unique", attr="email")
    patient.refresh_from_db()
    assert patient.email == before


def test_admin_creating_a_user_normalises_and_checks_the_username(admin_client):
    UserFactory(username="nurse", email="nurse@example.org")
    body = {"username": "ｎｕｒｓｅ", "fullname": "N", "email": "n2@example.org", "password": "Str0ng-Pass-99"}
    assert_error(admin_client.post("/api/v1/users", body, format="json"), 409, code="unique", attr="username")
    body["username"] = "NURSE@example.org"
    assert_error(admin_client.post("/api/v1/users", body, format="json"), 409, code="unique", attr="username")
    body["username"], body["email"] = "ｃｌｅｒｋ", "NURSE"
    response = admin_client.post("/api/v1/users", body, format="json")
    assert_error(response, 400, attr="email")  # not an address at all
    body["email"] = "clerk@example.org"
    response = admin_client.post("/api/v1/users", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "clerk"
    assert User.objects.count() == 3  # the admin, the nurse, the clerk


def test_admin_creating_a_user_with_another_accounts_username_as_email_is_409(admin_client):
    UserFactory(username="ward.clerk@example.org", email="wc@example.org")
    body = {"username": "n2", "fullname": "N", "email": "Ward.Clerk@example.org", "password": "Str0ng-Pass-99"}
    assert_error(admin_client.post("/api/v1/users", body, format="json"), 409, code="unique", attr="email")
    assert not User.objects.filter(username="n2").exists()


def test_admin_renaming_a_user_to_a_look_alike_or_another_accounts_email_is_409(admin_client, patient):
    UserFactory(username="nurse", email="nurse@example.org")
    before = patient.username
    for username in ("ｎｕｒｓｅ", "Nurse@Example.org"):
        response = admin_client.patch(f"/api/v1/users/{patient.pk}", {"username": username}, format="json")
        assert_error(response, 409, code="unique", attr="username")
        patient.refresh_from_db()
        assert patient.username == before
    own_email = patient.email
    response = admin_client.patch(f"/api/v1/users/{patient.pk}", {"username": own_email.upper()}, format="json")
    assert response.status_code == 200, response.content
    response = admin_client.patch(f"/api/v1/users/{patient.pk}", {"username": "ｐａｔｉｅｎｔ"}, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.username == "patient"


def test_hospital_admin_account_with_a_look_alike_username_is_409_and_creates_nothing(admin_client):
    UserFactory(username="admin", email="root@example.org")
    admin = {"username": "ａｄｍｉｎ", "fullname": "S Admin", "email": "s.admin@example.org", "password": SPACED}
    response = admin_client.post("/api/v1/hospitals", {**hospital_body(), "admin": admin}, format="json")
    assert_error(response, 409, code="unique", attr="admin.username")
    assert not User.objects.filter(email="s.admin@example.org").exists()
    assert admin_client.get("/api/v1/hospitals?search=Sahyadri").json()["count"] == 0


def test_doctor_account_with_another_accounts_email_as_username_is_409(admin_client, hospital):
    UserFactory(username="vikram", email="vikram@example.org")
    body = doctor_body(hospital, username="VIKRAM@example.org", password="Str0ng-Pass-2026")
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert_error(response, 409, code="unique", attr="user.username")
    assert not User.objects.filter(username__iexact="vikram@example.org").exists()
