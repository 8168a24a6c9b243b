"""Schemathesis hooks for `make fuzz` (loaded through schemathesis.toml's `hooks`).

`Idempotency-Key` (hms/api/idempotency.py): the same key with a different request body is refused with
422 `idempotency_key_reused`, by design (tested in the idempotency tests). The fuzzer draws keys from a
small space (its coverage phase sends the shortest valid key, "0", with every boundary body), so most
of its positive POSTs came back 422 and schemathesis reported those operations as "mostly rejected
generated data" (issue 22). A valid key the run already sent with another request is replaced here by
a fresh one, so each positive request reaches the rule it was generated for; the first use of each
drawn key, every replay of the same request, every invalid (negative) key and every case probing a
header go out unchanged.
"""

import json
import os
import re
import uuid

import requests
import schemathesis

HEADER = "idempotency-key"
VALID_KEY = re.compile(r"^[!-~]{1,255}$")  # hms/api/idempotency.py's _KEY_FORMAT
_sent: dict[str, str] = {}  # key -> the request it was first sent with


def _request(case) -> str:
    body = getattr(case, "body", None)
    try:
        body = json.dumps(body, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        body = repr(body)
    return f"{case.method} {case.formatted_path} {body}"


def _probes_a_header(case) -> bool:
    """A coverage case about a header (a missing Authorization, an unexpected header): left exactly as
    generated, or schemathesis loses track of what it left out and sends the run's own headers."""
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    return "header" in str(getattr(data, "parameter_location", "") or "").lower()


# Unique fields of the records a POST creates or a PUT/PATCH rewrites (a user's username and e-mail, a
# hospital's registration number, a blood bank's or a doctor's licence number, a vehicle number): the
# coverage phase sends the same boundary values ("0", "0@0.com") in every case of every creator, so after
# the first one each positive create was a 409
# (a uniqueness conflict, by design and tested), none was created, and the boundary cases refused on
# other grounds made schemathesis report the operation as "mostly rejected" (issue 22). As with the
# Idempotency-Key, a value the run already sent with another request is replaced by a fresh one in
# positive cases: the first use of each value and every replay go out unchanged -- unless a write was
# accepted with the value (it exists now: a replay could only be a 409). Nested bodies too (a new doctor's
# `user`, whose username and e-mail were sent as generated: 409 after the first new doctor).
UNIQUE_FIELDS = {
    "username": "fz{}",
    "email": "fz{}@example.org",
    "registration_number": "FZ-{}",
    "license_number": "FZ-{}",
    "vehicle_number": "FZ-{}",
    # Unique within their parent record (a hospital's floors, a ward's beds, a bank's lots): the coverage
    # phase's "0" again and again, so every rewrite of a floor after the first was a 409.
    "floor_number": "FZ-{}",
    "bed_number": "FZ-{}",
    "lot_number": "FZ-{}",
}
WRITES = ("POST", "PUT", "PATCH")  # a PUT or PATCH names the record's unique values too
# A sign-in's username names an account that must exist (schemathesis.toml's dictionaries and bin/fuzz-fixtures'
# examples give the seeded ones): it is no new value. Freshened, every sign-in after the first distinct one
# with that account went out with an unknown name -- the schema's order puts /api/v1/auth/ before the
# seed-compatible /auth/, so the aliases' sign-ins answered only 401 (bin/fuzz's former open note).
SIGN_IN = re.compile(r"(^|/)auth/((admin|hospital)/)?login/?$")
# (field, value) -> the request it was first sent with. Values are compared case-folded: usernames, e-mails
# and vehicle numbers are unique whatever their case ("0@0.com" and "0@0.COM" are one account).
_values: dict[tuple[str, str], str] = {}
# Values a write was answered 2xx with: they exist now, so even a replay of that request (hypothesis draws
# the same body again, its keys in another order: the same request) would meet a 409. A new doctor's
# `user` (a new account) is a nested body with a username and an e-mail of its own.
_taken: set[tuple[str, str]] = set()


def _is_positive(case) -> bool:
    mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
    return str(getattr(mode, "value", mode)) == "positive"


def _bodies(body: dict):
    """The body and the objects nested in it one level down (a new doctor's `user`)."""
    yield body
    yield from (value for value in body.values() if isinstance(value, dict))


def _unique_values(case):
    if case.method.upper() not in WRITES or not isinstance(case.body, dict) or not _is_positive(case):
        return
    if SIGN_IN.search(case.path):
        return
    for body in _bodies(case.body):
        for field, template in UNIQUE_FIELDS.items():
            value = body.get(field)
            if isinstance(value, str) and value:
                yield body, field, template, (field, value.casefold())


def _fresh_unique_values(case) -> None:
    request = _request(case)
    for body, field, template, key in list(_unique_values(case)):
        if key in _taken or _values.setdefault(key, request) != request:
            body[field] = template.format(uuid.uuid4().hex[:10])


@schemathesis.hook
def before_call(context, case, **kwargs):
    if _probes_a_header(case):
        return
    _fresh_unique_values(case)
    headers = case.headers or {}
    name = next((name for name in headers if name.lower() == HEADER), None)
    key = headers.get(name) if name else None
    if not isinstance(key, str) or not VALID_KEY.match(key):
        return
    request = _request(case)
    if _sent.setdefault(key, request) != request:
        headers[name] = f"fuzz-{uuid.uuid4()}"


# The run's account (bin/fuzz: FUZZ_TOKEN, FUZZ_PASSWORD). Changing a password ends every token issued
# before it (accounts.services.password_change), the run's own too, and bin/fuzz's copy of the schema has
# the account's password as the current one's example, so a positive change-password succeeds. The
# account is then put back as it was, through the API with the token the change answered with, and the
# run goes on with the token that answered: the run's later requests, and its next change-password, meet
# the account they expect.
_account = {"access": os.environ.get("FUZZ_TOKEN", ""), "password": os.environ.get("FUZZ_PASSWORD", "")}
CHANGE_PASSWORD = re.compile(r"(^|/)auth/change-password/?$")

if _account["access"]:

    @schemathesis.auth(refresh_interval=None)
    class FuzzAccount:
        def get(self, case, context):
            return _account["access"]

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def after_call(context, case, response):
    # Taken: written by this request, or (409) by another record -- schemathesis also sends values it read in
    # answers (another doctor's licence number), whose first use was already a conflict.
    if 200 <= response.status_code < 300 or response.status_code == 409:
        _taken.update(key for *_, key in _unique_values(case))
    if response.status_code != 200 or response.request.method != "POST" or not CHANGE_PASSWORD.search(case.path):
        return
    changed, body = response.json(), case.body if isinstance(case.body, dict) else {}
    if not _account["password"] or not isinstance(changed, dict) or "access" not in changed:
        return
    back = requests.post(
        response.request.url,
        json={"old_password": body.get("new_password"), "new_password": _account["password"]},
        headers={"Authorization": f"Bearer {changed['access']}"},
        timeout=30,
    )
    _account["access"] = back.json()["access"] if back.ok else changed["access"]
    if not back.ok:  # the run goes on with the new password
        _account["password"] = body.get("new_password")
