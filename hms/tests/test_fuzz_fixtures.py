"""bin/fuzz's copies of the schema and of schemathesis.toml (bin/fuzz-fixtures `copies`, bin/fuzz_fixtures/):
each transition's pool of records in its start state reaches the fuzzer, and nothing else changes."""

import copy
import datetime
import json
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
POOLS = {
    "api_v1_appointments_check_in_create": {"path.id": [41, 42, 43]},
    "api_v1_beds_release_create": {"path.id": [7]},  # too few to share: left to the usual ids
    "api_v1_emergencies_dispatch_create": {"path.id": [8, 9], "body.ambulance_id": [20, 21, 22]},
}


@pytest.fixture(scope="module")
def fixtures():
    """The package bin/fuzz-fixtures runs (bin/ on the path, as the script puts it)."""
    sys.path.insert(0, str(ROOT / "bin"))
    try:
        from fuzz_fixtures import base, copies, patient, repeatable
    finally:
        sys.path.remove(str(ROOT / "bin"))
    return SimpleNamespace(
        fuzz_schema=copies.fuzz_schema,
        fuzz_config=copies.fuzz_config,
        sign_in_examples=patient.sign_in_examples,
        registration_pools=patient.registration_pools,
        patient_pools=patient.patient_pools,
        patient=patient,
        FAVOURED=base.FAVOURED,
        schedule_pools=repeatable.schedule_pools,
        redelivery_pools=repeatable.redelivery_pools,
        queue_pools=repeatable.queue_pools,
    )


class RecordingApi:
    """The fixtures' API client, answering every write with a new record and every list with no rows."""

    def __init__(self):
        self.calls, self.next_id = [], 100

    def call(self, method, path, body=None, *, token=None):
        self.calls.append((method, path, body))
        self.next_id += 1
        return {"id": self.next_id}

    def rows(self, path, *, token=None):
        return []


def _schema():
    def operation(operation_id):
        return {
            "operationId": operation_id,
            "parameters": [{"in": "path", "name": "id", "schema": {"type": "integer"}}],
        }

    return {
        "paths": {
            "/api/v1/appointments/{id}/check-in/": {"post": operation("api_v1_appointments_check_in_create")},
            "/api/v1/appointments/{id}/": {"get": operation("api_v1_appointments_retrieve")},
        }
    }


def test_the_schema_copy_names_the_pools_first_record_as_the_example(fixtures):
    schema = fixtures.fuzz_schema(_schema(), POOLS)
    check_in = schema["paths"]["/api/v1/appointments/{id}/check-in/"]["post"]["parameters"][0]
    assert check_in["example"] == 41
    assert schema["paths"]["/api/v1/appointments/{id}/"] == _schema()["paths"]["/api/v1/appointments/{id}/"]


def test_the_config_copy_draws_the_path_id_from_the_rest_of_the_pool_first(fixtures):
    original = (ROOT / "schemathesis.toml").read_text()
    config = tomllib.loads(fixtures.fuzz_config(original, POOLS, "/repo"))
    parsed = tomllib.loads(original)
    first, dispatch = config["operations"][:2]
    assert first["include-operation-id-regex"] == "^api_v1_appointments_check_in_create$"
    assert first["parameters"]["path.id"]["dictionary"] == "pool-api_v1_appointments_check_in_create-path-id"
    assert first["phases"]["examples"]["enabled"] is False
    assert config["dictionaries"]["pool-api_v1_appointments_check_in_create-path-id"]["values"] == [42, 43]
    assert not [name for name in config["dictionaries"] if "beds_release" in name]
    assert set(dispatch["parameters"]) == {"path.id", "body.ambulance_id"}  # one entry per operation
    assert config["dictionaries"]["pool-api_v1_emergencies_dispatch_create-body-ambulance_id"]["values"] == [21, 22]
    assert config["operations"][2:] == parsed["operations"]
    assert config["hooks"] == parsed["hooks"]
    for name, dictionary in parsed["dictionaries"].items():
        if "from-file" in dictionary:  # the copy lives elsewhere: its files are named from the repository
            assert config["dictionaries"][name]["from-file"] == f"/repo/{dictionary['from-file']}"
        else:
            assert config["dictionaries"][name] == dictionary


def test_the_copies_leave_the_pools_as_they_were(fixtures):
    pools = copy.deepcopy(POOLS)
    fixtures.fuzz_schema(_schema(), pools)
    fixtures.fuzz_config((ROOT / "schemathesis.toml").read_text(), pools, "/repo")
    assert json.dumps(pools) == json.dumps(POOLS)


def test_the_schema_copy_knows_the_fuzzed_accounts_current_password(fixtures):
    schema = _schema()
    schema["components"] = {
        "schemas": {"ChangePasswordInRequest": {"properties": {"old_password": {"type": "string"}}}}
    }
    fixtures.fuzz_schema(schema, {}, "Fuzz-Pass")
    assert (
        schema["components"]["schemas"]["ChangePasswordInRequest"]["properties"]["old_password"]["example"]
        == "Fuzz-Pass"
    )
    untouched = _schema()
    untouched["components"] = {"schemas": {"ChangePasswordInRequest": {"properties": {"old_password": {}}}}}
    fixtures.fuzz_schema(untouched, {})  # no password given: no example
    assert untouched["components"]["schemas"]["ChangePasswordInRequest"]["properties"]["old_password"] == {}


def test_the_schema_copy_names_the_first_record_for_digit_string_ids(fixtures):
    digits = {"in": "path", "name": "id", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
    schema = {"paths": {"/hospital/{id}/": {"get": {"operationId": "hospital_retrieve", "parameters": [digits]}}}}
    fixtures.fuzz_schema(schema, {})
    assert digits["example"] == "1"


def test_a_pool_drawn_every_time_keeps_all_its_records_and_leaves_the_coverage_phase(fixtures):
    pools = {
        "api_v1_appointments_check_in_create": {"path.id": [41, 42], "probability": 1.0},
        "api_v1_doctors_leaves_list": {"path.doctor_id": [1], "probability": 1.0},
    }
    config = tomllib.loads(fixtures.fuzz_config((ROOT / "schemathesis.toml").read_text(), pools, "/repo"))
    check_in, leaves = config["operations"][:2]
    assert check_in["parameters"]["path.id"]["probability"] == 1.0
    assert config["dictionaries"]["pool-api_v1_appointments_check_in_create-path-id"]["values"] == [41, 42]
    assert check_in["phases"]["coverage"]["enabled"] is False
    assert leaves["parameters"]["path.doctor_id"]["probability"] == 1.0
    assert config["dictionaries"]["pool-api_v1_doctors_leaves_list-path-doctor_id"]["values"] == [1]
    half = tomllib.loads(fixtures.fuzz_config((ROOT / "schemathesis.toml").read_text(), POOLS, "/repo"))
    assert "coverage" not in half["operations"][0]["phases"]


def _booking_schema() -> tuple[dict, dict]:
    """A schema of one operation, POST /api/v1/appointments/, and its request body's content."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/AppointmentCreateInRequest"}}}
    operation = {"operationId": "api_v1_appointments_create", "requestBody": {"content": content}}
    return {"paths": {"/api/v1/appointments/": {"post": operation}}}, content


def test_the_schema_copy_gives_a_pooled_body_as_the_operations_example(fixtures):
    schema, content = _booking_schema()
    pools = {"api_v1_appointments_create": {"body.slot_id": [5, 6], "body": {"slot_id": 5}}}
    fixtures.fuzz_schema(schema, pools)
    assert content["application/json"]["example"] == {"slot_id": 5}
    config = tomllib.loads(fixtures.fuzz_config((ROOT / "schemathesis.toml").read_text(), pools, "/repo"))
    assert set(config["operations"][0]["parameters"]) == {"body.slot_id"}  # the example is no dictionary


def test_every_sign_in_has_an_account_that_exists_as_its_example(fixtures, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "fuzzadmin")
    monkeypatch.setenv("ADMIN_PASSWORD", "Fuzz-Admin-Pass-2026")
    examples = fixtures.sign_in_examples()
    config = tomllib.loads((ROOT / "schemathesis.toml").read_text())["dictionaries"]
    assert examples["auth_admin_login_create"]["body"] == {
        "username": config["admin-username"]["values"][0],
        "password": config["admin-password"]["values"][0],
    }
    assert examples["api_v1_auth_login_create"]["body"]["password"] == config["patient-password"]["values"][0]
    assert examples["auth_hospital_login_create"]["body"]["username"] == config["hospital-admin-username"]["values"][0]
    assert len(examples) == 6


def test_a_pool_may_require_fields_and_keep_the_coverage_phase_off(fixtures):
    """An administrator names the hospital a hospital admin's account implies: the admin's copy requires it."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/DoctorCreateInRequest"}}}
    schema = {
        "paths": {
            "/api/v1/doctors/": {"post": {"operationId": "api_v1_doctors_create", "requestBody": {"content": content}}}
        }
    }
    pools = {
        "api_v1_doctors_create": {
            "body.user_id": [40, 41, 42],
            "body.hospital_id": [1, 1],
            "probability": 0.8,
            "coverage": False,
            "required": ["hospital_id", "user_id"],
        }
    }
    fixtures.fuzz_schema(schema, pools)
    assert content["application/json"]["schema"] == {
        "allOf": [{"$ref": "#/components/schemas/DoctorCreateInRequest"}, {"required": ["hospital_id", "user_id"]}]
    }
    config = tomllib.loads(fixtures.fuzz_config((ROOT / "schemathesis.toml").read_text(), pools, "/repo"))
    doctors = config["operations"][0]
    assert set(doctors["parameters"]) == {"body.user_id", "body.hospital_id"}  # "required" is no dictionary
    assert doctors["parameters"]["body.user_id"]["probability"] == 0.8
    assert doctors["phases"]["coverage"]["enabled"] is False


def test_no_request_bodys_key_holds_nul_in_the_copy(fixtures):
    """The API refuses U+0000 in a key (hms/api/null_characters.py); OpenAPI 3.0 cannot say it, the copy does."""
    nested = {"type": "object", "properties": {"name": {"type": "string"}}}
    schema = {
        "components": {
            "schemas": {
                "ThingInRequest": {"type": "object", "properties": {"inner": nested}},
                "ThingOut": {"type": "object"},
            }
        },
        "paths": {},
    }
    fixtures.fuzz_schema(schema, {})
    components = schema["components"]["schemas"]
    assert components["ThingInRequest"]["propertyNames"] == {"not": {"pattern": "[\\u0000]"}}
    assert nested["propertyNames"] == {"not": {"pattern": "[\\u0000]"}}
    assert "propertyNames" not in components["ThingOut"]  # answers are the server's


def test_a_pool_may_require_one_of_several_fields(fixtures):
    """Staff booking for a patient name it, or a hold (which names it): the admin's copy requires one of them."""
    schema, content = _booking_schema()
    pools = {"api_v1_appointments_create": {"body.slot_id": [5, 6], "required_any": [["patient_id"], ["hold_id"]]}}
    fixtures.fuzz_schema(schema, pools)
    assert content["application/json"]["schema"] == {
        "allOf": [
            {"$ref": "#/components/schemas/AppointmentCreateInRequest"},
            {"anyOf": [{"required": ["patient_id"]}, {"required": ["hold_id"]}]},
        ]
    }


def test_generate_slots_draws_schedules_of_its_own_and_dates_in_the_window(fixtures):
    """GenerateSlotsIn: from_date at most MAX_DAYS_BACK ago, to_date on or after it, at most MAX_GENERATE_DAYS
    after it and MAX_DAYS_AHEAD after today; any drawn from_date goes with any drawn to_date."""
    from appointments.models import MAX_DAYS_AHEAD, MAX_GENERATE_DAYS
    from appointments.serializers.schedules import GenerateSlotsIn

    api = RecordingApi()
    pools = fixtures.schedule_pools(api)
    pool = pools["api_v1_opd_schedules_generate_slots_create"]
    made = [path for method, path, _ in api.calls if method == "POST" and path == "/api/v1/opd-schedules/"]
    rewritten = pools["api_v1_opd_schedules_update"]["path.id"]
    assert len(made) == 7 + len(pool["path.id"]) + len(rewritten)  # up to seed-ids' 7, then the pools' own
    assert not set(pool["path.id"]) & set(rewritten)
    first, last = min(pool["body.from_date"]), max(pool["body.to_date"])
    assert max(pool["body.from_date"]) < min(pool["body.to_date"])
    today = datetime.date.today()
    assert datetime.date.fromisoformat(first) > today
    assert (datetime.date.fromisoformat(last) - datetime.date.fromisoformat(first)).days <= MAX_GENERATE_DAYS
    assert datetime.date.fromisoformat(last) <= today + datetime.timedelta(days=MAX_DAYS_AHEAD)
    for body in (pool["body"], {"from_date": first, "to_date": last}, {"to_date": last}):
        assert GenerateSlotsIn(data=body, context={"today": today}).is_valid()


def test_redelivery_draws_one_webhook_and_its_own_deliveries(fixtures):
    api = RecordingApi()
    pool = fixtures.redelivery_pools(api)["api_v1_webhooks_deliveries_redeliver_create"]
    webhook = api.calls[0]
    assert webhook[:2] == ("POST", "/api/v1/webhooks/")
    assert pool["path.id"] == [101, 101]  # drawn whole or not at all: every draw is that webhook
    pings = [path for _, path, _ in api.calls[1:]]
    assert pings == ["/api/v1/webhooks/101/test/"] * len(pool["path.delivery_id"])
    assert pool["path.delivery_id"] == list(range(102, 102 + len(pings)))


def test_schedule_bodies_the_coverage_phase_builds_on_are_valid(fixtures):
    """A rewrite's example, and its hours and validity drawn apart: every start before every end."""
    from appointments.serializers.schedules import OpdScheduleIn

    pools = fixtures.schedule_pools(RecordingApi())
    schedule = SimpleNamespace(start_time=None, end_time=None, slot_minutes=15, valid_from=None, valid_until=None)
    rewrite = pools["api_v1_opd_schedules_update"]
    bodies = [rewrite["body"]] + [
        {**rewrite["body"], "start_time": start, "end_time": end, "valid_from": since, "valid_until": until}
        for start in rewrite["body.start_time"]
        for end in rewrite["body.end_time"]
        for since in rewrite["body.valid_from"][:2]
        for until in rewrite["body.valid_until"][:2]
    ]
    for body in bodies:
        data = OpdScheduleIn(instance=schedule, data=body, context={"request": None})
        assert data.is_valid(), (body, data.errors)


def test_a_done_and_a_start_draw_one_queue_and_its_entries_in_consultation_or_called(fixtures):
    api = RecordingApi()
    pools = fixtures.queue_pools(api)
    done, start = pools["api_v1_queues_entries_done_create"], pools["api_v1_queues_entries_start_create"]
    queue = done["path.id"][0]
    assert done["path.id"] == start["path.id"] == [queue, queue]
    called = [answer for (_, path, _), answer in zip(api.calls, range(101, 200)) if path.endswith("/call-next/")]
    started = [path for _, path, _ in api.calls if path.endswith("/start/")]
    half = len(called) // 2
    assert half and done["path.entry_id"] == called[:half] and start["path.entry_id"] == called[half:]
    assert started == [f"/api/v1/queues/{queue}/entries/{entry}/start/" for entry in called[:half]]


@pytest.mark.django_db
def test_each_role_registers_names_of_its_own_with_a_valid_example(fixtures):
    """The two roles' runs share a seed and generated the same new usernames: each draws its own instead, and
    the coverage phase builds on a body the API registers (no name like the password, none taken)."""
    from rest_framework.test import APIClient

    admin, patient = fixtures.registration_pools("admin"), fixtures.registration_pools("patient")
    assert set(admin) == set(patient) == {"auth_register_create", "api_v1_auth_register_create"}
    drawn = {
        role: [value for pool in pools.values() for field in ("body.username", "body.email") for value in pool[field]]
        for role, pools in (("admin", admin), ("patient", patient))
    }
    assert not set(drawn["admin"]) & set(drawn["patient"])
    assert len(set(drawn["admin"])) == len(drawn["admin"])  # the two aliases' names apart too
    for pools in (admin, patient):
        for operation, pool in pools.items():
            assert pool["body"]["username"] == pool["body.username"][0]
            assert pool["body"]["email"] == pool["body.email"][0]
            response = APIClient().post("/api/v1/auth/register/", pool["body"], format="json")
            assert response.status_code == 201, (operation, response.content)
    config = tomllib.loads(fixtures.fuzz_config((ROOT / "schemathesis.toml").read_text(), admin, "/repo"))
    entry = next(op for op in config["operations"] if op["include-operation-id-regex"] == "^auth_register_create$")
    assert set(entry["parameters"]) == {"body.username", "body.email"}
    assert "coverage" not in entry.get("phases", {})  # the coverage phase runs, on the example


class SlotRowsApi(RecordingApi):
    """RecordingApi with free slots to list: ids 600 down to 401, hospital 3 but every fifth (hospital 4)."""

    def rows(self, path, *, token=None):
        if not path.startswith("/api/v1/slots/?available=true") or "page=2" in path:
            return []
        return [{"id": pk, "hospital_id": 4 if pk % 5 == 0 else 3} for pk in range(600, 400, -1)]


def test_a_patients_booking_draws_its_own_holds_on_the_drawn_slots_of_one_hospital(fixtures, monkeypatch):
    """A booking names a slot, a hold, or both (the hold's slot, else 400 hold_mismatch): the patient's drawn
    holds are its own, one on each drawn slot, with that hospital and the patient itself (seed-ids' holds were
    on other slots, and every positive fuzzing case of POST /appointment/opd/book at seed 544964158 was a 400)."""
    api = SlotRowsApi()
    monkeypatch.setattr(fixtures.patient, "notifications_for", lambda username, copies: [])
    pools = fixtures.patient_pools(api, "token", taken=set(), beds=[])
    me = 101  # RecordingApi's first answer: the profile
    held = {int(path.split("/")[4]): answer for (method, path, _), answer in zip(api.calls, range(101, 10**4))
            if method == "POST" and path.endswith("/hold/")}  # fmt: skip
    for operation in ("api_v1_appointments_create", "appointment_opd_book_create"):
        pool = pools[operation]
        slots, holds = pool["body.slot_id"], pool["body.hold_id"]
        assert pool["body"] == {"slot_id": slots[0], "reason": "Fuzz booking"}
        assert len(slots) == 8 and all(pk % 5 for pk in slots)  # one hospital's (3)
        assert pool["body.hospital_id"] == [3, 3] and pool["body.patient_id"] == [me, me]
        assert holds[1:] == [held[slot] for slot in slots[1:]] and holds[0] == holds[1]  # drawn: holds[1:]
        assert slots[0] not in held  # the example's slot is held by no one: the coverage phase books it
        assert pool["probability"] == fixtures.FAVOURED
    assert not set(pools["api_v1_appointments_create"]["body.slot_id"]) & set(
        pools["appointment_opd_book_create"]["body.slot_id"]
    )
