"""The token's user row (accounts.authentication._token_user_row): on PostgreSQL one prepared statement
(the user's columns and the token's revocation together); the user built from it is the user, and
every refusal of the ORM path stays (tests/test_tokens.py covers revocation, deactivation, password
change and unknown users through HTTP)."""

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.authentication import _LOADED_FIELDS, _token_user_row
from accounts.models import RevokedAccessToken, User
from accounts.tests.factories import PASSWORD
from accounts.tests.utils import assert_error, bearer, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(api, patient):
    response = login(api, patient.username, PASSWORD)
    assert response.status_code == 200
    return response.json()


def test_row_holds_the_users_columns_and_no_revocation(patient):
    row = _token_user_row("some-jti", patient.pk)
    *values, revoked = row
    assert revoked is False
    stored = User.objects.get(pk=patient.pk)
    assert dict(zip(_LOADED_FIELDS, values, strict=True)) == {name: getattr(stored, name) for name in _LOADED_FIELDS}
    assert "password" not in _LOADED_FIELDS


def test_row_names_a_revoked_jti_and_an_unknown_user_is_none(patient):
    RevokedAccessToken.objects.create(jti="revoked-jti", expires_at="2099-01-01T00:00:00Z")
    assert _token_user_row("revoked-jti", patient.pk)[-1] is True
    assert _token_user_row("revoked-jti", 987654321) is None
    assert _token_user_row("revoked-jti", 2**70) is None  # beyond bigint: no row, no database error


def test_the_lookup_is_one_statement_every_time(pair):
    client = bearer(pair["access"])
    for _ in range(3):  # prepared on a later run on PostgreSQL: the same one statement each time
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/auth/profile").status_code == 200
        assert sum("token_revoked" in query["sql"] for query in captured.captured_queries) == 1


def test_profile_answers_the_users_fields_from_the_row(pair, patient):
    body = bearer(pair["access"]).get("/auth/profile").json()
    assert body["id"] == patient.pk and body["username"] == patient.username and body["role"] == patient.role


def test_token_for_a_user_id_beyond_bigint_is_401(pair):
    claims = jwt.decode(pair["access"], options={"verify_signature": False}) | {"user_id": str(2**70)}
    forged = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    assert_error(bearer(forged).get("/auth/profile"), 401)
