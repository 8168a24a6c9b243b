"""Concurrent requests on PostgreSQL: real threads released together by a barrier."""

from functools import partial

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import login
from conftest import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_refresh_token_redeemed_by_ten_threads_succeeds_once():
    user = UserFactory()
    pair = login(APIClient(), user.username, PASSWORD).json()

    def redeem(_index):
        response = APIClient().post("/auth/refresh", {"refresh": pair["refresh"]}, format="json")
        return response.status_code, response.json()

    results = run_together([partial(redeem, index) for index in range(10)])
    statuses = sorted(status for status, _body in results)
    assert statuses == [200] + [401] * 9, statuses
    winner = next(body for status, body in results if status == 200)
    # The one new refresh token works; the redeemed one is blacklisted once.
    assert APIClient().post("/auth/refresh", {"refresh": winner["refresh"]}, format="json").status_code == 200
    outstanding = OutstandingToken.objects.filter(user=user)
    assert BlacklistedToken.objects.filter(token__in=outstanding).count() == 2


def test_concurrent_registrations_of_one_username_create_one_account():
    def register(index):
        body = {
            "username": "Racer" if index % 2 else "racer",
            "fullname": "Race Condition",
            "email": f"racer{index}@example.org",
            "password": "Str0ng-Pass-99",
        }
        return APIClient().post("/auth/register", body, format="json").status_code

    statuses = sorted(run_together([partial(register, index) for index in range(8)]))
    assert statuses == [201] + [409] * 7, statuses
    assert User.objects.filter(username__iexact="racer").count() == 1


def test_concurrent_registrations_of_one_email_create_one_account():
    def register(index):
        body = {
            "username": f"racer{index}",
            "fullname": "Race Condition",
            "email": "Same@Example.org" if index % 2 else "same@example.org",
            "password": "Str0ng-Pass-99",
        }
        return APIClient().post("/auth/register", body, format="json").status_code

    statuses = sorted(run_together([partial(register, index) for index in range(8)]))
    assert statuses == [201] + [409] * 7, statuses
    assert User.objects.filter(email__iexact="same@example.org").count() == 1


def test_concurrent_wrong_passwords_check_at_most_five_guesses():
    user = UserFactory()

    def guess(index):
        client = APIClient(REMOTE_ADDR=f"10.1.0.{index}")
        return login(client, user.username, f"Guess-{index}-Wrong").status_code

    statuses = run_together([partial(guess, index) for index in range(15)])
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 10, statuses
    # And the right password is refused for the rest of the window.
    assert login(APIClient(REMOTE_ADDR="10.2.0.1"), user.username, PASSWORD).status_code == 429


def test_concurrent_password_changes_with_one_token_succeed_once():
    user = UserFactory()
    version_before = user.auth_version
    pair = login(APIClient(), user.username, PASSWORD).json()
    new_passwords = [f"Changed-Pass-{index}-x" for index in range(6)]

    def change(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        body = {"old_password": PASSWORD, "new_password": new_passwords[index]}
        return client.post("/auth/change-password", body, format="json").status_code

    statuses = run_together([partial(change, index) for index in range(6)])
    # The first change makes the token stale; requests still in flight with it are refused.
    assert sorted(statuses) == [200] + [401] * 5, statuses
    user.refresh_from_db()
    assert user.check_password(new_passwords[statuses.index(200)])
    assert user.auth_version == version_before + 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get("/auth/profile").status_code == 401
