"""What the fixture modules share: the API client, the record counts and the helpers that make one record."""

import json
import os
import sys
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

COPIES = 7  # as many as schemathesis.toml's seed-ids (1..7)
WEBHOOK_URL = "https://93.184.216.34/hms-fuzz"  # schemathesis.toml's webhook-urls
DOCTOR_PASSWORD = "Doctor-Pass-2026"  # seed_demo's doctor (appointments/demo.py)
VICTIM_IDS = (900001, 900002, 900003)  # schemathesis.toml's victim-ids

# Transitions take a record in one state (check-in a booked appointment, fulfil an approved request, ...),
# and each call uses one up. Each listed operation gets a pool of its own records in its start state,
# named nowhere else in the run: bin/fuzz's copy of schemathesis.toml (`fuzz_config`) draws the operation's
# path id from the rest of the pool half the time in the fuzzing phase, and the first record is the path
# parameter's example in bin/fuzz's copy of the schema (`fuzz_schema`), which the coverage phase sends
# (the copy turns the examples phase off for them: it would use that record up first).
POOL = COPIES + 1  # one for the example, COPIES for the dictionary

# Creators whose bodies name records in a state no JSON schema can say, and that each success uses up (issue
# 22's "mostly rejected generated data": every positive case of a phase refused): an open referral, a waiting
# entry, a reservation take a patient of their own; a transfer moves an admitted patient to a free bed of the
# same hospital; a bed is reserved only while free; a new ambulance's driver drives for its hospital. Each
# gets records named nowhere else in the run, the first in a valid example body (the coverage phase builds
# its cases on it), the rest drawn with FAVOURED probability in the fuzzing phase (the other draws stay
# random: the refusals are still fuzzed). One entry decides all of an operation's drawn parameters, so the
# fields schemathesis.toml's [parameters] would draw are listed here too.
FAVOURED = 0.8
ALWAYS = 1.0  # a pool's "probability": drawn every time (and the example is one of them too)


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token, self.failed = base.rstrip("/"), token, 0

    def call(self, method: str, path: str, body: dict | None = None, *, token: str | None = None):
        request = urllib.request.Request(  # noqa: S310 (the fuzz server's own http:// URL)
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            self.failed += 1
            print(f"fuzz-fixtures: {method} {path} -> {error.code} {error.read()[:300]!r}", file=sys.stderr)
            return None

    def rows(self, path: str, *, token: str | None = None) -> list[dict]:
        page = self.call("GET", path, token=token)
        return (page or {}).get("results", [])


def django_setup():
    sys.path.insert(0, ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
    import django

    django.setup()


def pool_patient(api: Api, number: int, role: str = "user") -> dict | None:
    body = {
        "username": f"fuzzpool{role}{number}",
        "fullname": f"Fuzz Pool {role.capitalize()} {number}",
        "email": f"fuzzpool{role}{number}@example.org",
        "password": "Fuzz-Pool-Pass-2026",
        "role": role,
        **({"blood_group": "O+"} if role == "donor" else {}),
    }
    return api.call("POST", "/api/v1/users/", body)


def referral_to(api: Api, hospital: int, patient: int, bed_type: str = "general") -> dict | None:
    body = {
        "patient_id": patient,
        "from_hospital_id": 1,
        "to_hospital_id": hospital,
        "reason": "Fuzz",
        "bed_type": bed_type,
    }
    return api.call("POST", "/api/v1/referrals/", body)


def new_beds(api: Api, hospital: int, prefix: str, count: int, bed_type: str = "general") -> list[int]:
    """`count` new free beds in the hospital's first ward: their ids."""
    wards = api.rows(f"/api/v1/wards/?hospital_id={hospital}&ordering=id&page_size=1")
    if not wards:
        return []
    made = (
        api.call(
            "POST", "/api/v1/beds/", {"ward_id": wards[0]["id"], "bed_number": f"{prefix}-{n}", "bed_type": bed_type}
        )
        for n in range(1, count + 1)
    )
    return [bed["id"] for bed in made if bed]


def new_doctor(api: Api, username: str) -> dict | None:
    """A doctor of hospital 1 with a new account of its own."""
    account = {
        "username": username,
        "fullname": f"Dr. Fuzz {username}",
        "email": f"{username}@example.org",
        "password": "Fuzz-Doctor-Pass-2026",
    }
    body = {"user": account, "hospital_id": 1, "specialization": "Fuzz Medicine", "license_number": f"FZ-{username}"}
    return api.call("POST", "/api/v1/doctors/", body)


def new_ambulance(api: Api, vehicle_number: str) -> dict | None:
    return api.call("POST", "/api/v1/ambulances/", {"hospital_id": 1, "vehicle_number": vehicle_number})
