"""bin/fuzz_hooks.py (make fuzz): a valid Idempotency-Key already sent with another request is replaced by
a fresh one; its first use, a replay of the same request and an invalid key go out as generated."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

HOOKS = Path(__file__).resolve().parents[2] / "bin" / "fuzz_hooks.py"


@pytest.fixture
def hooks():
    spec = importlib.util.spec_from_file_location("fuzz_hooks_under_test", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def case(key, body, path="/api/v1/blood-requests/"):
    return SimpleNamespace(method="POST", formatted_path=path, body=body, headers={"Idempotency-Key": key})


def test_a_key_sent_with_another_body_is_replaced(hooks):
    first, second = case("0", {"units": 1}), case("0", {"units": 2})
    hooks.before_call(None, first)
    hooks.before_call(None, second)
    assert first.headers["Idempotency-Key"] == "0"
    assert second.headers["Idempotency-Key"] != "0"
    assert hooks.VALID_KEY.match(second.headers["Idempotency-Key"])


def test_a_key_sent_to_another_path_is_replaced(hooks):
    first, second = case("k", {"units": 1}), case("k", {"units": 1}, path="/bloodbank/request/")
    hooks.before_call(None, first)
    hooks.before_call(None, second)
    assert second.headers["Idempotency-Key"] != "k"


def test_a_replay_of_the_same_request_keeps_its_key(hooks):
    first, replay = case("same", {"units": 1}), case("same", {"units": 1})
    hooks.before_call(None, first)
    hooks.before_call(None, replay)
    assert replay.headers["Idempotency-Key"] == "same"


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, 42])
def test_an_invalid_key_is_left_for_the_api_to_refuse(hooks, key):
    hooks.before_call(None, case(key, {"units": 1}))
    second = case(key, {"units": 2})
    hooks.before_call(None, second)
    assert second.headers["Idempotency-Key"] == key


def test_a_request_without_the_header_is_left_alone(hooks):
    request = SimpleNamespace(method="GET", formatted_path="/api/v1/slots/", body=None, headers=None)
    hooks.before_call(None, request)
    assert request.headers is None


def test_a_case_probing_a_header_is_left_alone(hooks):
    hooks.before_call(None, case("h", {"units": 1}))
    probe = case("h", {"units": 2})
    probe.meta = SimpleNamespace(phase=SimpleNamespace(data=SimpleNamespace(parameter_location="header")))
    hooks.before_call(None, probe)
    assert probe.headers["Idempotency-Key"] == "h"


def positive(path, body):
    meta = SimpleNamespace(generation=SimpleNamespace(mode="positive"))
    return SimpleNamespace(method="POST", path=path, formatted_path=path, body=body, headers={}, meta=meta)


def test_a_new_records_username_already_sent_is_replaced(hooks):
    hooks.before_call(None, positive("/api/v1/auth/register/", {"username": "patient", "password": "a"}))
    again = positive("/auth/register/", {"username": "patient", "password": "a"})
    hooks.before_call(None, again)
    assert again.body["username"] != "patient"


SIGN_INS = ["/auth/login/", "/auth/admin/login/", "/auth/hospital/login", "/api/v1/auth/login/"]


@pytest.mark.parametrize("sign_in", SIGN_INS)
def test_a_sign_in_keeps_the_account_it_names(hooks, sign_in):
    """The seed-compatible /auth/ sign-ins come after /api/v1/auth/ in the schema: they name the same accounts."""
    hooks.before_call(None, positive("/api/v1/auth/admin/login/", {"username": "patient", "password": "b"}))
    hooks.before_call(None, positive("/api/v1/auth/register/", {"username": "patient", "password": "c"}))
    again = positive(sign_in, {"username": "patient", "password": "Patient-Pass-2026"})
    hooks.before_call(None, again)
    assert again.body["username"] == "patient"


def test_a_value_a_write_was_accepted_with_is_replaced_even_in_a_replay(hooks):
    """Hypothesis draws the same body again (its keys in another order): after a 201 it could only be a 409."""
    first = positive("/api/v1/floors/", {"floor_number": "0", "hospital_id": 1})
    hooks.before_call(None, first)
    hooks.after_call(None, first, SimpleNamespace(status_code=201, request=SimpleNamespace(method="POST")))
    replay = positive("/api/v1/floors/", {"hospital_id": 1, "floor_number": "0"})
    hooks.before_call(None, replay)
    assert first.body["floor_number"] == "0"
    assert replay.body["floor_number"] != "0"
    assert len(replay.body["floor_number"]) <= 20  # a floor number's max_length


def test_a_replay_of_a_refused_write_keeps_its_values(hooks):
    first = positive("/api/v1/floors/", {"floor_number": "0", "hospital_id": 99})
    hooks.before_call(None, first)
    hooks.after_call(None, first, SimpleNamespace(status_code=400, request=SimpleNamespace(method="POST")))
    replay = positive("/api/v1/floors/", {"floor_number": "0", "hospital_id": 99})
    hooks.before_call(None, replay)
    assert replay.body["floor_number"] == "0"


def test_a_nested_new_accounts_username_and_email_are_kept_fresh(hooks):
    """A new doctor's `user` is a new account: its username and e-mail are unique (case-insensitively)."""
    body = {"license_number": "L", "user": {"username": "0", "email": "0@0.com"}}
    hooks.before_call(None, positive("/api/v1/doctors/", body))
    again = positive("/api/v1/doctors/", {"license_number": "M", "user": {"username": "0", "email": "0@0.COM"}})
    hooks.before_call(None, again)
    assert again.body["user"]["username"] != "0"
    assert again.body["user"]["email"] != "0@0.COM"
    assert again.body["license_number"] == "M"


def test_a_value_refused_as_taken_is_replaced_next_time(hooks):
    """Schemathesis sends values it read in answers (another doctor's licence number): after the 409, fresh ones."""
    first = positive("/api/v1/doctors/5/", {"license_number": "DEMO-DOCTOR"})
    first.method = "PUT"
    hooks.before_call(None, first)
    hooks.after_call(None, first, SimpleNamespace(status_code=409, request=SimpleNamespace(method="PUT")))
    again = positive("/api/v1/doctors/5/", {"license_number": "DEMO-DOCTOR"})
    again.method = "PUT"
    hooks.before_call(None, again)
    assert again.body["license_number"] != "DEMO-DOCTOR"
