"""Activity entries for sign-in events (API.md 9, 14): actor, role, ip, request id; failures survive."""

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from accounts.activity import record
from accounts.models import Activity, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import bearer, login

pytestmark = pytest.mark.django_db


def only_entry(**filters) -> Activity:
    entries = list(Activity.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def test_login_is_recorded_with_actor_role_ip_and_request_id(patient):
    client = APIClient(REMOTE_ADDR="192.0.2.10", HTTP_X_REQUEST_ID="req-login-1")
    assert login(client, patient.username, PASSWORD).status_code == 200
    entry = only_entry(action="login")
    assert entry.actor_id == patient.pk and entry.actor_role == "user"
    assert entry.actor_name == patient.fullname
    assert entry.ip == "192.0.2.10" and entry.request_id == "req-login-1"
    assert (entry.object_type, entry.object_id) == ("user", patient.pk)


def test_failed_login_is_recorded_without_actor_and_names_the_username(patient):
    client = APIClient(REMOTE_ADDR="192.0.2.11")
    assert login(client, patient.username, "Wrong-Pass-0").status_code == 401
    entry = only_entry(action="login_failed")
    assert entry.actor_id is None and entry.ip == "192.0.2.11"
    assert entry.detail["username"] == patient.username
    assert "Wrong-Pass-0" not in str(entry.detail)


def test_wrong_role_login_is_a_failure_with_the_actor(hospital_admin):
    assert login(APIClient(), hospital_admin.username, PASSWORD, path="/auth/admin/login").status_code == 403
    entry = only_entry(action="login_failed")
    assert entry.actor_id == hospital_admin.pk
    assert not Activity.objects.filter(action="login").exists()


def test_throttled_login_is_recorded_as_failed(patient):
    client = APIClient()
    for _ in range(5):
        login(client, patient.username, "Wrong-Pass-0")
    assert login(client, patient.username, PASSWORD).status_code == 429
    assert Activity.objects.filter(action="login_failed").count() == 6
    assert Activity.objects.filter(action="login_failed", detail__reason="throttled").count() == 1


def test_logout_is_recorded_with_the_actor(patient):
    pair = login(APIClient(), patient.username, PASSWORD).json()
    client = bearer(pair["access"])
    client.defaults["REMOTE_ADDR"] = "192.0.2.12"
    assert client.post("/auth/logout", {"refresh": pair["refresh"]}, format="json").status_code == 200
    entry = only_entry(action="logout")
    assert entry.actor_id == patient.pk and entry.ip == "192.0.2.12"


def test_password_change_is_recorded_with_the_actor(patient):
    pair = login(APIClient(), patient.username, PASSWORD).json()
    client = bearer(pair["access"])
    body = {"old_password": PASSWORD, "new_password": "Brand-New-Pass-5"}
    assert client.post("/auth/change-password", body, format="json").status_code == 200
    entry = only_entry(action="password_change")
    assert entry.actor_id == patient.pk and entry.actor_role == "user"


def test_wrong_old_password_records_no_password_change(patient_client):
    body = {"old_password": "nope", "new_password": "Brand-New-Pass-5"}
    assert patient_client.post("/auth/change-password", body, format="json").status_code == 400
    assert not Activity.objects.filter(action="password_change").exists()


def test_ip_is_the_forwarded_client_behind_a_trusted_proxy(settings, patient):
    settings.TRUSTED_PROXIES = 1
    client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    login(client, patient.username, PASSWORD)
    assert only_entry(action="login").ip == "203.0.113.5"


def test_forwarded_for_is_ignored_without_trusted_proxies(settings, patient):
    settings.TRUSTED_PROXIES = 0
    client = APIClient(REMOTE_ADDR="192.0.2.13", HTTP_X_FORWARDED_FOR="203.0.113.5")
    login(client, patient.username, PASSWORD)
    assert only_entry(action="login").ip == "192.0.2.13"


def test_register_and_user_admin_writes_are_recorded(api, admin_client, admin_user):
    body = {"username": "logme", "fullname": "Log Me", "email": "logme@example.org", "password": "Str0ng-Pass-99"}
    assert api.post("/auth/register", body, format="json").status_code == 201
    user = User.objects.get(username="logme")
    assert only_entry(action="create").actor_id == user.pk
    assert admin_client.delete(f"/api/v1/users/{user.pk}").status_code == 204
    entry = only_entry(action="delete")
    assert entry.actor_id == admin_user.pk and entry.object_id == user.pk


def test_entries_are_append_only():
    entry = record(action="login", actor=UserFactory())
    with pytest.raises(DatabaseError), transaction.atomic():
        Activity.objects.filter(pk=entry.pk).update(action="logout")
    with pytest.raises(DatabaseError), transaction.atomic():
        Activity.objects.filter(pk=entry.pk).delete()
    assert Activity.objects.get(pk=entry.pk).action == "login"


@pytest.mark.django_db(transaction=True)
def test_failed_login_entry_survives_the_failed_request():
    """No ATOMIC_REQUESTS, nothing rolled back: the entry is committed when the 401 goes out."""
    user = UserFactory()
    assert not connection.settings_dict.get("ATOMIC_REQUESTS")
    assert login(APIClient(), user.username, "Wrong-Pass-0").status_code == 401
    assert login(APIClient(), user.username, PASSWORD, path="/auth/admin/login").status_code == 403
    connection.close()  # a fresh connection sees only committed rows
    assert Activity.objects.filter(action="login_failed").count() == 2
