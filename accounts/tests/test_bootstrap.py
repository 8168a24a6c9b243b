"""Admin bootstrap on migrate (API.md 2) and the Django admin for users, hospitals and activity."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Activity, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import login

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_env(settings):
    settings.ADMIN_USERNAME = "chief"
    settings.ADMIN_EMAIL = "chief@hms.example"
    settings.ADMIN_PASSWORD = "Chief-Pass-2026"
    return settings


def migrate():
    call_command("migrate", verbosity=0, interactive=False)


def test_migrate_creates_the_admin_account(admin_env, api):
    migrate()
    admin = User.objects.get(username="chief")
    assert (admin.role, admin.is_staff, admin.is_superuser, admin.is_active) == ("admin", True, True, True)
    assert admin.email == "chief@hms.example"
    assert admin.check_password("Chief-Pass-2026")
    assert login(api, "chief", "Chief-Pass-2026", path="/auth/admin/login").status_code == 200


def test_migrate_again_never_overwrites_the_admin(admin_env):
    migrate()
    admin = User.objects.get(username="chief")
    admin.set_password("Changed-By-Ops-1")
    admin.fullname = "Renamed Chief"
    admin.save()
    admin_env.ADMIN_PASSWORD = "Another-Env-Pass-9"
    migrate()
    admin.refresh_from_db()
    assert admin.check_password("Changed-By-Ops-1")
    assert admin.fullname == "Renamed Chief"
    assert User.objects.filter(role="admin").count() == 1


def test_existing_username_in_other_case_is_left_alone(admin_env):
    existing = UserFactory(username="CHIEF", email="someone@example.org")
    migrate()
    assert User.objects.filter(username__iexact="chief").count() == 1
    existing.refresh_from_db()
    assert existing.role == "user" and not existing.is_superuser


def test_existing_account_with_the_admin_email_does_not_break_migrate(admin_env):
    UserFactory(username="someone", email="CHIEF@hms.example")
    migrate()
    assert User.objects.filter(email__iexact="chief@hms.example").count() == 1


@pytest.mark.parametrize("missing", ["ADMIN_EMAIL", "ADMIN_PASSWORD"])
def test_no_admin_without_email_and_password(admin_env, missing):
    setattr(admin_env, missing, "")
    migrate()
    assert not User.objects.filter(username="chief").exists()


def test_username_defaults_to_admin(settings):
    settings.ADMIN_EMAIL = "root@hms.example"
    settings.ADMIN_PASSWORD = "Root-Pass-2026"
    settings.ADMIN_USERNAME = "admin"
    migrate()
    assert User.objects.get(username="admin").is_superuser


def test_bootstrap_on_a_fresh_database_from_the_command_line(tmp_path):
    """The `make run` path: a fresh SQLite file, migrate twice, the password changed in between."""
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "PG", "ADMIN_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "SECRET_KEY": "bootstrap-test-" + "k" * 50,
        "DEBUG": "false",
        "ADMIN_EMAIL": "ops@hms.example",
        "ADMIN_PASSWORD": "Ops-Pass-2026",
        "ADMIN_USERNAME": "ops",
    }
    env.pop("HMS_TESTING", None)

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    check = (
        "from accounts.models import User; u = User.objects.get(username='ops'); "
        "print(u.role, u.is_staff, u.is_superuser, "
        "u.check_password('Ops-Pass-2026'), u.check_password('Ops-New-Pass-1'))"
    )
    manage("migrate", "--noinput", "-v", "0")
    assert manage("shell", "-v", "0", "-c", check).split() == ["admin", "True", "True", "True", "False"]
    manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from accounts.models import User; u = User.objects.get(username='ops'); "
        "u.set_password('Ops-New-Pass-1'); u.save()",
    )
    manage("migrate", "--noinput", "-v", "0")
    assert manage("shell", "-v", "0", "-c", check).split() == ["admin", "True", "True", "False", "True"]


# --- the Django admin -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/?q=user&role__exact=user&is_active__exact=1",
        "/admin/accounts/user/add/",
        "/admin/hospitals/hospital/",
        "/admin/hospitals/hospital/?q=General",
        "/admin/hospitals/hospital/add/",
        "/admin/accounts/activity/",
    ],
)
def test_admin_site_pages_open_for_the_admin(admin_site, hospital, patient, path):
    response = admin_site.get(path)
    assert response.status_code == 200, (path, response.status_code)


def test_admin_site_change_pages_open(admin_site, hospital, hospital_admin):
    assert admin_site.get(f"/admin/accounts/user/{hospital_admin.pk}/change/").status_code == 200
    assert admin_site.get(f"/admin/hospitals/hospital/{hospital.pk}/change/").status_code == 200


def test_admin_site_adds_a_user_with_a_hashed_password(admin_site, hospital):
    response = admin_site.post(
        "/admin/accounts/user/add/",
        {
            "username": "viaadmin",
            "fullname": "Via Admin",
            "email": "viaadmin@example.org",
            "role": "ambulance_driver",
            "hospital": hospital.pk,
            "password1": "Admin-Made-Pass-1",
            "password2": "Admin-Made-Pass-1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    user = User.objects.get(username="viaadmin")
    assert user.hospital_id == hospital.pk and user.check_password("Admin-Made-Pass-1")


def test_activity_is_read_only_in_the_admin(admin_site, patient, api):
    login(api, patient.username, PASSWORD)
    entry = Activity.objects.get()
    assert admin_site.get("/admin/accounts/activity/add/").status_code == 403
    assert admin_site.post(f"/admin/accounts/activity/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Activity.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("who", ["patient", "hospital_admin"])
def test_admin_site_refuses_non_staff(request, who):
    client = Client()
    client.force_login(request.getfixturevalue(who))
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_password_reset_in_the_admin_site_refuses_the_users_old_tokens(admin_site, patient, api):
    pair = login(api, patient.username, PASSWORD).json()
    response = admin_site.post(
        f"/admin/accounts/user/{patient.pk}/password/",
        {"password1": "Reset-By-Admin-7", "password2": "Reset-By-Admin-7", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    patient.refresh_from_db()
    assert patient.check_password("Reset-By-Admin-7")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get("/auth/profile").status_code == 401
    assert api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401
    assert login(APIClient(), patient.username, "Reset-By-Admin-7").status_code == 200


def test_rehashing_on_login_keeps_tokens_valid(settings, api):
    """Django upgrades an old hash at sign-in; that is not a password change and ends no session."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = UserFactory()
    pair = login(api, user.username, PASSWORD).json()
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert login(APIClient(), user.username, PASSWORD).status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get("/auth/profile").status_code == 200


def test_admin_site_refuses_staff_without_hospital_with_a_form_error(admin_site):
    response = admin_site.post(
        "/admin/accounts/user/add/",
        {
            "username": "orphan",
            "fullname": "No Hospital",
            "email": "orphan@example.org",
            "role": "hospital_admin",
            "password1": "Admin-Made-Pass-1",
            "password2": "Admin-Made-Pass-1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="orphan").exists()
