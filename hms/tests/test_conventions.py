"""API conventions (API.md 1, 12): optional trailing slash, JSON only, limits, request ids, settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework import serializers as drf_serializers
from rest_framework.test import APIClient

from accounts import serializers as account_serializers
from accounts.tests.factories import PASSWORD
from accounts.tests.utils import assert_error, login

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


# --- trailing slash, both ways --------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/auth", "/api/v1/auth"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_auth_paths_work_with_and_without_trailing_slash(api, patient, prefix, slash):
    response = login(api, patient.username, PASSWORD, path=f"{prefix}/login{slash}")
    assert response.status_code == 200, response.content
    pair = response.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get(f"{prefix}/profile{slash}").status_code == 200
    assert client.patch(f"{prefix}/profile{slash}", {"phone_num": "1"}, format="json").status_code == 200
    refreshed = api.post(f"{prefix}/refresh{slash}", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert client.post(f"{prefix}/logout{slash}", {}, format="json").status_code == 200


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize(
    "path", ["/health", "/health/ready", "/api/schema", "/api/docs", "/api/redoc", "/api/v1/users"]
)
def test_other_paths_work_with_and_without_trailing_slash(admin_client, path, slash):
    response = admin_client.get(path + slash, HTTP_ACCEPT="*/*")
    assert response.status_code == 200, (path + slash, response.status_code)


def test_no_redirect_for_a_missing_or_extra_slash(admin_client):
    assert django_settings.APPEND_SLASH is False
    for path in ("/api/v1/users", "/api/v1/users/", "/auth/profile", "/auth/profile/"):
        assert admin_client.get(path).status_code == 200


def test_double_slash_is_404_not_a_match(admin_client):
    assert_error(admin_client.get("/api/v1/users//"), 404)


# --- JSON only, limits ----------------------------------------------------------------------


def test_responses_are_json(admin_client):
    for path in ("/api/v1/users", "/auth/profile", "/health"):
        assert admin_client.get(path)["Content-Type"] == "application/json"


def test_every_text_input_field_of_accounts_has_a_max_length():
    for serializer_class in (
        account_serializers.RegisterIn,
        account_serializers.LoginIn,
        account_serializers.RefreshIn,
        account_serializers.LogoutIn,
        account_serializers.ProfileIn,
        account_serializers.ChangePasswordIn,
        account_serializers.UserIn,
    ):
        for name, field in serializer_class().fields.items():
            if field.read_only or not isinstance(field, drf_serializers.CharField):
                continue
            assert field.max_length is not None, f"{serializer_class.__name__}.{name}"
            assert field.max_length <= 4096, f"{serializer_class.__name__}.{name}"


def test_invalid_content_length_is_400(api):
    response = api.generic("POST", "/auth/login", b"{}", content_type="application/json", CONTENT_LENGTH="abc")
    assert_error(response, 400)


# --- request ids and security headers -------------------------------------------------------


def test_request_id_is_echoed_when_well_formed_and_replaced_when_not(api):
    assert api.get("/health", HTTP_X_REQUEST_ID="abc-123.x:y")["X-Request-ID"] == "abc-123.x:y"
    for bad in ("a b", "x" * 65, "<script>", "a\tb"):
        returned = api.get("/health", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert returned != bad and len(returned) == 32
    assert len(api.get("/health")["X-Request-ID"]) == 32


def test_security_headers(api):
    response = api.get("/health", secure=True)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "max-age=31536000" in response["Strict-Transport-Security"]


def test_ssl_redirect_is_on_by_default_outside_tests(settings):
    settings.SECURE_SSL_REDIRECT = True
    response = APIClient().get("/api/v1/users")
    assert response.status_code == 301 and response["Location"].startswith("https://")


# --- settings from the environment ----------------------------------------------------------


def run_settings_probe(extra_env: dict, code: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "SECRET", "DEBUG", "SECURE_", "ADMIN_", "HMS_", "PG", "REDIS", "JWT"))
    }
    env |= {"HMS_ENV_FILE": "/dev/null", "DJANGO_SETTINGS_MODULE": "hms.settings", **extra_env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "DEBUG": "false",
    "ALLOWED_HOSTS": "hms.example.org",
    "DATABASE_URL": "postgresql://hms:password@127.0.0.1:5432/hms",
    "CORS_ALLOWED_ORIGINS": "https://app.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://hms.example.org",
    "TRUSTED_PROXIES": "1",
}


def test_check_deploy_is_clean_with_production_values():
    result = run_settings_probe(
        PRODUCTION,
        "import sys, django; from django.core.management import call_command; django.setup(); "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')",
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_production_without_secret_key_refuses_to_start_with_a_clear_message():
    result = run_settings_probe({**PRODUCTION, "SECRET_KEY": ""}, "import django; django.setup()")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_defaults_are_safe():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1], "
        "s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1], s.TRUSTED_PROXIES, "
        "s.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds(), "
        "s.SIMPLE_JWT['REFRESH_TOKEN_LIFETIME'].total_seconds(), "
        "s.PASSWORD_HASHERS[0].rsplit('.', 1)[-1])"
    )
    result = run_settings_probe({"SECRET_KEY": "x" * 60}, code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "sqlite3",
        "DatabaseCache",
        "0",
        "3600.0",
        "2592000.0",
        "BCryptSHA256PasswordHasher",
    ]


def test_environment_configures_tokens_and_redis():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds(), s.SIMPLE_JWT['SIGNING_KEY'], "
        "s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1], s.TRUSTED_PROXIES)"
    )
    result = run_settings_probe(
        {
            "SECRET_KEY": "x" * 60,
            "JWT_ACCESS_TOKEN_EXPIRES": "120",
            "JWT_SECRET_KEY": "jwt-only-key",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "TRUSTED_PROXIES": "2",
        },
        code,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["120.0", "jwt-only-key", "RedisCache", "2"]


def test_env_file_is_read_except_under_tests(tmp_path):
    env_file = tmp_path / "dev.env"
    env_file.write_text("ADMIN_EMAIL=dev@example.org\nTHROTTLE_LOGIN_USERNAME=99/1m\nSECRET_KEY=" + "k" * 60 + "\n")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ADMIN_EMAIL or '-', s.THROTTLE_LOGIN_USERNAME)"
    )
    normal = run_settings_probe({"HMS_ENV_FILE": str(env_file)}, code)
    assert normal.returncode == 0, normal.stderr[-2000:]
    assert normal.stdout.split() == ["dev@example.org", "99/1m"]
    # Under tests a developer's .env (written by `make run`: ADMIN_*, relaxed flags) changes nothing.
    testing = run_settings_probe({"HMS_ENV_FILE": str(env_file), "HMS_TESTING": "1"}, code)
    assert testing.returncode == 0, testing.stderr[-2000:]
    assert testing.stdout.split() == ["-", "5/15m"]


def test_model_serializer_instances_get_fields_of_their_own():
    """hms.api.serializers.ModelSerializer copies its class-level fields: two serializers of one class
    (nested ones included) never share a bound field, and the class's template stays unbound."""
    from appointments.serializers import AppointmentOut

    first, second = AppointmentOut(), AppointmentOut()
    for name in ("id", "status", "start", "doctor", "patient"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert first.fields["doctor"].fields["fullname"] is not second.fields["doctor"].fields["fullname"]
    assert first.fields["doctor"].fields["fullname"].parent is first.fields["doctor"]
    assert all(getattr(field, "parent", None) is None for field in AppointmentOut._fields_template.values())
