"""JWT signing-key rotation (accounts/signing_keys.py): a rotation signs no one out; a retired key
stops working once it is dropped; a token naming an unknown key is refused."""

import jwt
import pytest
from django.test import override_settings

from accounts.tests.factories import PASSWORD
from accounts.tests.utils import assert_error, bearer, login

pytestmark = pytest.mark.django_db

OLD = ("k-old", "old-signing-key-" * 4)
NEW = ("k-new", "new-signing-key-" * 4)


def keys(current, previous=()):
    """Settings as an operator sets them: the current key and id, the retired ones as kid:secret."""
    kid, secret = current
    from django.conf import settings

    return override_settings(
        JWT_KEY_ID=kid,
        SIMPLE_JWT={**settings.SIMPLE_JWT, "SIGNING_KEY": secret},
        JWT_PREVIOUS_KEYS=dict(previous),
    )


def sign_in(api, patient) -> dict:
    response = login(api, patient.username, PASSWORD)
    assert response.status_code == 200, response.content
    return response.json()


def test_tokens_name_their_signing_key(api, patient):
    with keys(OLD):
        pair = sign_in(api, patient)
    assert jwt.get_unverified_header(pair["access"])["kid"] == "k-old"
    assert jwt.get_unverified_header(pair["refresh"])["kid"] == "k-old"


def test_a_rotation_keeps_existing_tokens_working_and_signs_new_ones_with_the_new_key(api, patient):
    with keys(OLD):
        pair = sign_in(api, patient)
    with keys(NEW, previous=[OLD]):
        assert bearer(pair["access"]).get("/auth/profile").status_code == 200
        refreshed = api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json")
        assert refreshed.status_code == 200, refreshed.content
        assert jwt.get_unverified_header(refreshed.json()["access"])["kid"] == "k-new"
        assert bearer(refreshed.json()["access"]).get("/auth/profile").status_code == 200


def test_a_dropped_key_no_longer_verifies_its_tokens(api, patient):
    with keys(OLD):
        pair = sign_in(api, patient)
    with keys(NEW):
        assert_error(bearer(pair["access"]).get("/auth/profile"), 401)
        assert_error(api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json"), 401)


def test_a_token_naming_an_unknown_key_is_refused_even_with_a_valid_signature(api, patient):
    with keys(OLD):
        pair = sign_in(api, patient)
        claims = jwt.decode(pair["access"], options={"verify_signature": False})
        forged = jwt.encode(claims, OLD[1], algorithm="HS256", headers={"kid": "k-elsewhere"})
        assert_error(bearer(forged).get("/auth/profile"), 401)


def test_a_token_from_before_key_ids_is_checked_against_the_configured_keys(api, patient):
    with keys(OLD):
        pair = sign_in(api, patient)
        claims = jwt.decode(pair["access"], options={"verify_signature": False})
    no_kid = jwt.encode(claims, OLD[1], algorithm="HS256")
    assert "kid" not in jwt.get_unverified_header(no_kid)
    with keys(NEW, previous=[OLD]):
        assert bearer(no_kid).get("/auth/profile").status_code == 200
    with keys(NEW):
        assert_error(bearer(no_kid).get("/auth/profile"), 401)
