"""Token attacks: every forged, stale or misused token is a clean 401."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import PASSWORD
from accounts.tests.utils import assert_error, bearer, login

pytestmark = pytest.mark.django_db


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def pair(api, patient):
    response = login(api, patient.username, PASSWORD)
    assert response.status_code == 200
    return response.json()


def assert_refused(access: str):
    response = bearer(access).get("/auth/profile")
    body = assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    return body


def test_valid_access_token_is_accepted(pair):
    assert bearer(pair["access"]).get("/auth/profile").status_code == 200


def test_expired_access_token_is_401(pair):
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime - timedelta(seconds=5), tick=False):
        assert bearer(pair["access"]).get("/auth/profile").status_code == 200
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=1), tick=False):
        body = assert_refused(pair["access"])
    assert body["errors"][0]["code"] == "token_not_valid"


def test_expired_refresh_token_is_401(api, pair):
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=1), tick=False):
        assert_error(api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json"), 401)


def test_tampered_signature_is_401(pair):
    # The genuine token was accepted (and its validation kept): a variant of it is checked afresh.
    assert bearer(pair["access"]).get("/auth/profile").status_code == 200
    header, payload, signature = pair["access"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(f"{header}.{payload}.{flipped}")


def test_tampered_payload_is_401(pair, admin_user):
    header, _payload, signature = pair["access"].split(".")
    claims = claims_of(pair["access"]) | {"user_id": str(admin_user.pk)}
    assert_refused(f"{header}.{b64(claims)}.{signature}")


def test_alg_none_token_is_401(pair):
    claims = claims_of(pair["access"])
    for alg in ("none", "None", "NONE"):
        assert_refused(f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}.")


def test_token_signed_with_another_key_is_401(pair):
    claims = claims_of(pair["access"])
    forged = jwt.encode(claims, "not-the-server-key-" * 4, algorithm="HS256")
    assert_refused(forged)


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_token_with_another_hmac_algorithm_is_401(pair):
    claims = claims_of(pair["access"])
    forged = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")
    assert_refused(forged)


def test_refresh_token_used_as_access_token_is_401(pair):
    assert_refused(pair["refresh"])


def test_access_token_used_as_refresh_token_is_401(api, pair):
    assert_error(api.post("/auth/refresh", {"refresh": pair["access"]}, format="json"), 401)


def test_revoked_access_token_is_401(pair):
    client = bearer(pair["access"])
    assert client.post("/auth/logout", {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert_refused(pair["access"])
    # A second logout with the same token is refused too.
    assert_error(client.post("/auth/logout", {}, format="json"), 401)


def test_rotated_refresh_token_is_401(api, pair):
    assert api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert_error(api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json"), 401)


def test_token_of_deactivated_user_is_401(pair, patient):
    User.objects.filter(pk=patient.pk).update(is_active=False)
    assert_refused(pair["access"])


def test_token_issued_before_password_change_is_401_even_if_reforged_with_same_claims(pair, patient):
    patient.set_password("Another-Pass-88")
    patient.auth_version += 1
    patient.save()
    assert_refused(pair["access"])


def test_token_for_unknown_user_is_401(pair):
    claims = claims_of(pair["access"]) | {"user_id": "987654321"}
    assert_refused(jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer eyJ.eyJ.sig extra",
        "Bearer " + "A" * 5000,
        "Bearer \u00e9\u00e9\u00e9",
    ],
)
def test_malformed_authorization_header_is_401(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/auth/profile")
    assert_error(response, 401)


def test_other_auth_scheme_is_not_authenticated(api, pair):
    api.credentials(HTTP_AUTHORIZATION=f"Token {pair['access']}")
    assert_error(api.get("/auth/profile"), 401, code="not_authenticated")


def test_tokens_carry_no_password_material(pair, patient):
    claims = claims_of(pair["access"])
    assert patient.password not in json.dumps(claims)
    assert set(claims) == {"token_type", "exp", "iat", "jti", "user_id", "ver"}
