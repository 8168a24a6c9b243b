"""OWASP API Security Top 10 (2023), one section per item, through the HTTP API on PostgreSQL.

API1  Broken object level authorization: another patient, another hospital's staff, an untreating
      doctor reach nobody else's appointment, visit, admission, blood request or emergency (404,
      the same answer as for an id that does not exist), by GET, PATCH or action, and lists and
      filters never leak them.
API2  Broken authentication: expired, tampered, `alg: none`, other-key, wrong-algorithm,
      refresh-as-access, revoked, rotated and pre-password-change tokens are 401; a refresh token
      redeemed by ten threads at once succeeds at most once.
API3  Broken object property level authorization: server-owned properties (role, is_staff,
      hospital, booked, status, token_number, units, reporter, ...) sent to every writable
      endpoint are ignored or refused (400/403), never applied (checked in the database); no
      request schema exposes them.
API4  Unrestricted resource consumption: page_size capped at 100, bodies over 1 MiB 413, deep or
      huge JSON 400, login / anonymous emergency / registration throttles 429.
API5  Broken function level authorization: patients (and other roles) calling staff functions get
      403 and change nothing; anonymous callers get 401.
API6  Unrestricted access to sensitive business flows: booking is throttled per user, a patient
      holds one seat per slot, an Idempotency-Key never replays someone else's booking.
API7  Server side request forgery / injection: SQL metacharacters, NUL bytes, LIKE wildcards,
      huge and unicode strings in every filter, search and ordering parameter of every list
      endpoint (found through the URL resolver, parameters from the schema) and in every detail id
      are 400 or a correct (empty) result, never a 500; stored text comes back verbatim; no URL
      given to the API is ever fetched.
API8  Security misconfiguration: DEBUG off and security flags on by default, security headers on
      every answer, HSTS and the SSL redirect in production, CORS only for configured origins,
      `manage.py check --deploy --fail-level WARNING` clean with the production environment, no
      stack trace or exception text in any answer.
API9  Improper inventory management: every route of the URL resolver is documented in
      /api/schema with the methods it answers, and every documented path and method resolves.
API10 Unsafe consumption of APIs: not applicable server-side. HMS calls no third-party API:
      geocoding is a local great-circle computation (hospitals/geo.py), there are no webhooks,
      no URL fields that the server fetches, no federated login, and the only outbound
      connections are to its own PostgreSQL and (optionally) Redis. The risk therefore sits with
      the *clients* consuming HMS, which is covered from our side by (a) a test that no
      application module imports an HTTP client, and (b) tests that text echoed back (names with
      HTML, template syntax) is returned as inert JSON (application/json, nosniff), verbatim, and
      escaped wherever the server itself renders HTML (the admin site).
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import Activity, User
from accounts.tests.factories import PASSWORD, UserFactory
from appointments.models import Appointment, Doctor, OpdSchedule, Slot, Visit
from appointments.tests.factories import SlotFactory
from bloodbank.models import BloodBank, BloodRequest, Donation, StockLot
from conftest import client_for, run_together
from emergency.models import Ambulance, Emergency
from emergency.throttling import EmergencyReportThrottle
from hms.tests.routes import api_routes, list_routes
from hospitals.models import Admission, Bed, Floor, Hospital, Ward

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)
MISSING_ID = 987654321


def error(response) -> dict:
    """The first error of the one error shape, after checking the shape."""
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["type"] in ("validation_error", "client_error", "server_error")
    assert body["errors"] and set(body["errors"][0]) == {"code", "detail", "attr"}
    return body["errors"][0]


def attrs(response) -> set:
    return {item["attr"] for item in response.json()["errors"]}


CLINICAL = {
    "appointment": "/api/v1/appointments/{}",
    "visit": "/api/v1/visits/{}",
    "admission": "/api/v1/admissions/{}",
    "blood_request": "/api/v1/blood-requests/{}",
    "emergency": "/api/v1/emergencies/{}",
}


def clinical_url(world, kind: str, pk=None) -> str:
    return CLINICAL[kind].format(getattr(world, kind).pk if pk is None else pk)


# =====================================================================================================
# API1 — Broken object level authorization
# =====================================================================================================


@pytest.mark.parametrize("kind", CLINICAL)
def test_api1_patient_a_reads_own_clinical_records(world, patient_client, kind):
    assert patient_client.get(clinical_url(world, kind)).status_code == 200


@pytest.mark.parametrize("kind", CLINICAL)
def test_api1_other_patient_gets_404_exactly_like_a_missing_id(world, other_patient_client, kind):
    response = other_patient_client.get(clinical_url(world, kind))
    missing = other_patient_client.get(clinical_url(world, kind, MISSING_ID))
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    assert error(response)["code"] == "not_found"


@pytest.mark.parametrize("kind", CLINICAL)
def test_api1_other_hospitals_admin_gets_404_on_clinical_records(world, other_hospital_admin_client, kind):
    assert other_hospital_admin_client.get(clinical_url(world, kind)).status_code == 404


@pytest.mark.parametrize("kind", ["appointment", "visit", "admission", "emergency"])
def test_api1_other_hospitals_doctor_gets_404_on_clinical_records(world, kind):
    client = client_for(world.other_doctor.user)
    assert client.get(clinical_url(world, kind)).status_code == 404


@pytest.mark.parametrize("kind", ["appointment", "visit"])
def test_api1_untreating_doctor_of_the_same_hospital_gets_404(world, hospital, kind):
    colleague = UserFactory(role="doctor", hospital=hospital)
    Doctor.objects.create(user=colleague, hospital=hospital, specialization="Surgery", license_number="LIC-COLLEAGUE")
    assert client_for(colleague).get(clinical_url(world, kind)).status_code == 404


@pytest.mark.parametrize("kind", ["appointment", "visit", "admission", "blood_request"])
def test_api1_driver_and_donor_get_404_on_a_patients_records(world, driver_client, donor_client, kind):
    assert driver_client.get(clinical_url(world, kind)).status_code == 404
    assert donor_client.get(clinical_url(world, kind)).status_code == 404


def test_api1_seed_alias_hides_another_patients_appointment(world, other_patient_client):
    assert other_patient_client.get(f"/appointment/opd/{world.appointment.pk}").status_code == 404


def test_api1_other_patient_cannot_change_or_cancel_the_appointment(world, other_patient_client):
    appointment = world.appointment
    url = clinical_url(world, "appointment")
    assert other_patient_client.patch(url, {"reason": "hijacked"}).status_code == 404
    assert other_patient_client.patch(url, {"slot_id": world.spare_slot.pk}).status_code == 404
    assert other_patient_client.put(f"/appointment/opd/update/{appointment.pk}", {"reason": "x"}).status_code == 404
    assert other_patient_client.post(f"{url}/cancel", {"reason": "x"}).status_code == 404
    assert other_patient_client.delete(f"/appointment/opd/cancel/{appointment.pk}").status_code == 404
    fresh = Appointment.objects.get(pk=appointment.pk)
    assert (fresh.status, fresh.reason, fresh.slot_id) == (appointment.status, appointment.reason, appointment.slot_id)


def test_api1_other_patient_cannot_cancel_the_blood_request(world, other_patient_client):
    response = other_patient_client.post(f"{clinical_url(world, 'blood_request')}/cancel")
    assert response.status_code == 404
    assert BloodRequest.objects.get(pk=world.blood_request.pk).status == "pending"


def test_api1_other_patient_acting_on_the_emergency_learns_nothing(world, other_patient_client):
    """A patient may not move any emergency: the answer is the same for another's and for none."""
    for action, body in (("status", {"status": "cancelled"}), ("dispatch", {}), ("forward", {"hospital_id": 1})):
        real = other_patient_client.post(f"{clinical_url(world, 'emergency')}/{action}", body)
        missing = other_patient_client.post(f"{clinical_url(world, 'emergency', MISSING_ID)}/{action}", body)
        assert real.status_code == missing.status_code and real.status_code in (403, 404)
    assert Emergency.objects.get(pk=world.emergency.pk).status == "reported"


def test_api1_other_hospitals_admin_cannot_act_on_clinical_records(world, other_hospital_admin_client):
    client = other_hospital_admin_client
    assert client.post(f"{clinical_url(world, 'appointment')}/cancel").status_code == 404
    assert client.post(f"{clinical_url(world, 'appointment')}/check-in").status_code == 404
    assert client.patch(clinical_url(world, "appointment"), {"reason": "x"}).status_code == 404
    assert client.post(f"{clinical_url(world, 'blood_request')}/approve").status_code == 404
    assert client.post(f"{clinical_url(world, 'blood_request')}/reject", {"reason": "x"}).status_code == 404
    assert client.post(f"{clinical_url(world, 'emergency')}/dispatch").status_code == 404
    assert client.post(f"{clinical_url(world, 'emergency')}/status", {"status": "cancelled"}).status_code == 404
    # Beds are public objects: another hospital's admin is refused (403), and nothing changes.
    assert client.post(f"/api/v1/beds/{world.bed.pk}/discharge").status_code == 403
    assert Appointment.objects.get(pk=world.appointment.pk).status == "booked"
    assert BloodRequest.objects.get(pk=world.blood_request.pk).status == "pending"
    assert Emergency.objects.get(pk=world.emergency.pk).status == "reported"
    assert Admission.objects.get(pk=world.admission.pk).discharged_at is None


@pytest.mark.parametrize(
    "url, owner_filter",
    [
        ("/api/v1/appointments", "patient_id"),
        ("/api/v1/visits", "patient_id"),
        ("/api/v1/admissions", "patient_id"),
        ("/api/v1/blood-requests", "requester_id"),
        ("/api/v1/emergencies", "reporter_id"),
        ("/appointment/my-appointments", None),
        ("/bloodbank/requests", None),
    ],
)
def test_api1_lists_and_owner_filters_never_show_another_patients_rows(world, other_patient_client, url, owner_filter):
    assert other_patient_client.get(url).json()["count"] == 0
    if owner_filter:
        response = other_patient_client.get(url, {owner_filter: world.patient.pk})
        assert response.status_code == 200 and response.json()["count"] == 0


def test_api1_donation_is_visible_to_its_donor_only(world, donor_client, patient_client, other_hospital_admin_client):
    url = f"/api/v1/donations/{world.donation.pk}"
    assert donor_client.get(url).status_code == 200
    assert patient_client.get(url).status_code == 404
    assert other_hospital_admin_client.get(url).status_code == 404


def test_api1_my_records_shows_only_the_callers_own_trail(world, patient_client, other_patient_client):
    assert patient_client.get(clinical_url(world, "visit")).status_code == 200
    mine = patient_client.get("/api/v1/activity/my-records").json()
    assert mine["count"] >= 1
    assert other_patient_client.get("/api/v1/activity/my-records").json()["count"] == 0
    assert (
        other_patient_client.get("/api/v1/activity/my-records", {"patient_id": world.patient.pk}).json()["count"] == 0
    )


def test_api1_booking_for_another_patient_is_refused(world, other_patient_client):
    response = other_patient_client.post(
        "/api/v1/appointments", {"slot_id": world.spare_slot.pk, "patient_id": world.patient.pk}
    )
    assert response.status_code == 403
    assert not Appointment.objects.filter(slot=world.spare_slot).exists()


def test_api1_idempotency_key_never_replays_another_users_booking(world, patient_client, other_patient_client):
    key = {"HTTP_IDEMPOTENCY_KEY": "shared-key-0001"}
    first = patient_client.post("/api/v1/appointments", {"slot_id": world.spare_slot.pk}, **key)
    second = other_patient_client.post("/api/v1/appointments", {"slot_id": world.spare_slot.pk}, **key)
    assert first.status_code == second.status_code == 201
    assert first.json()["patient_id"] == world.patient.pk
    assert second.json()["patient_id"] == world.other_patient.pk
    assert "Idempotent-Replayed" not in second


def test_api1_denied_reads_are_audited_for_the_probed_patient(world, other_patient_client):
    other_patient_client.get(clinical_url(world, "visit"))
    denied = Activity.objects.get(action="read_denied", object_type="visit")
    assert denied.patient_id == world.patient.pk and denied.actor_id == world.other_patient.pk


MARKERS = ("Zelda Quartermaine", "zelda.quartermaine@x.org", "zeldaq", "+91 11111 22222", "zelda-diagnosis")


@pytest.fixture
def marked_world(world):
    """Patient A's identity and records carry unique markers, to look for them in others' answers."""
    patient = world.patient
    User.objects.filter(pk=patient.pk).update(
        fullname=MARKERS[0], email=MARKERS[1], username=MARKERS[2], phone_num=MARKERS[3]
    )
    Admission.objects.filter(pk=world.admission.pk).update(patient_name=MARKERS[0])
    BloodRequest.objects.filter(pk=world.blood_request.pk).update(patient_name=MARKERS[0])
    Emergency.objects.filter(pk=world.emergency.pk).update(patient_name=MARKERS[0], contact_number=MARKERS[3])
    Appointment.objects.filter(pk=world.appointment.pk).update(reason=MARKERS[4])
    Visit.objects.filter(pk=world.visit.pk).update(diagnosis=MARKERS[4])
    return world


# Routes whose `{id}` is not a row of their view's queryset model: the object the path names.
_PATH_IDS = {
    "/api/v1/blood-banks/{id}/lots/": lambda world: {"id": world.bank.pk},
    "/api/v1/hospitals/{id}/queue-board/": lambda world: {"id": world.hospital.pk},
    "/api/v1/notifications/{id}/": lambda world: {"id": world.notification.pk},
    "/api/v1/doctors/{doctor_id}/leaves/": lambda world: {"doctor_id": world.doctor.pk},
}


def _every_get(client, world):
    """GET every documented route (detail routes with a real id of their model); yields (path, response).
    A route whose model has no row in the world is left out (it has nothing to leak)."""
    for route in api_routes():
        if "get" not in route.actions:
            continue
        values = {}
        if route.path in _PATH_IDS:
            values = _PATH_IDS[route.path](world)
        elif route.parameters:
            queryset = getattr(route.view_class, "queryset", None)
            first = queryset.model.objects.order_by("pk").first() if queryset is not None else None
            if first is None or route.parameters != ["id"]:
                continue
            values = {"id": first.pk}
        yield route.path, client.get(route.url(**values))


def test_api1_the_sweep_reaches_nearly_every_readable_route(marked_world, patient_client):
    """Guard for the sweep: routes left out for want of a row stay few."""
    readable = [route for route in api_routes() if "get" in route.actions]
    swept = list(_every_get(patient_client, marked_world))
    assert len(swept) >= len(readable) - 2, sorted({r.path for r in readable} - {path for path, _ in swept})


@pytest.mark.parametrize(
    "client_name", ["api", "other_patient_client", "donor_client", "other_hospital_admin_client", "other_doctor"]
)
def test_api1_no_answer_to_anyone_else_carries_patient_a_data(request, marked_world, client_name):
    if client_name == "other_doctor":
        client = client_for(marked_world.other_doctor.user)
    else:
        client = request.getfixturevalue(client_name)
    leaks = []
    for path, response in _every_get(client, marked_world):
        assert response.status_code < 500, path
        leaks += [f"{path}: {marker}" for marker in MARKERS if marker in response.content.decode()]
    assert leaks == []


def test_api1_the_sweep_would_see_patient_a_data_where_it_is_allowed(marked_world, patient_client):
    """Guard for the sweep above: the markers are found in answers to patient A itself."""
    found = set()
    for _path, response in _every_get(patient_client, marked_world):
        found |= {marker for marker in MARKERS if marker in response.content.decode()}
    assert found == set(MARKERS)


def test_api1_hospital_admin_reads_staff_of_its_hospital_but_no_patient_account(world, hospital_admin_client):
    assert hospital_admin_client.get(f"/api/v1/users/{world.doctor.user_id}").status_code == 200
    assert hospital_admin_client.get(f"/api/v1/users/{world.patient.pk}").status_code == 404
    assert hospital_admin_client.patch(f"/api/v1/users/{world.patient.pk}", {"fullname": "X"}).status_code == 404
    listed = {row["id"] for row in hospital_admin_client.get("/api/v1/users", {"page_size": 100}).json()["results"]}
    assert world.patient.pk not in listed and world.other_patient.pk not in listed


def test_api1_a_beds_current_admission_is_shown_only_to_its_hospitals_staff(
    world, api, patient_client, other_hospital_admin_client, doctor_client
):
    url = f"/api/v1/beds/{world.bed.pk}"
    for client in (api, patient_client, other_hospital_admin_client):
        assert client.get(url).json()["current_admission"] is None
    assert doctor_client.get(url).json()["current_admission"]["patient_id"] == world.patient.pk


# =====================================================================================================
# API2 — Broken authentication
# =====================================================================================================

PROFILE = "/auth/profile"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _signing_key() -> str:
    return settings.SIMPLE_JWT["SIGNING_KEY"]


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _login(api, user) -> dict:
    response = api.post("/auth/login", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def _assert_401(response):
    assert response.status_code == 401, response.content
    assert error(response)["code"] in ("token_not_valid", "not_authenticated", "authentication_failed")
    assert response.json()["type"] == "client_error"


def test_api2_valid_access_token_works(api, patient):
    assert _bearer(_login(api, patient)["access"]).get(PROFILE).status_code == 200


def test_api2_missing_or_malformed_credentials_are_401_with_a_bearer_challenge(api, patient):
    response = api.get(PROFILE)
    _assert_401(response)
    assert response["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer", "Bearer ", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b c"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get(PROFILE).status_code == 401, header


def test_api2_expired_access_token_is_401(api, patient):
    claims = _claims(_login(api, patient)["access"])
    now = int(timezone.now().timestamp())
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 1}, _signing_key(), algorithm="HS256")
    _assert_401(_bearer(expired).get(PROFILE))


def test_api2_access_token_expires_with_the_clock(api, patient):
    access = _login(api, patient)["access"]
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=5)):
        _assert_401(_bearer(access).get(PROFILE))


def test_api2_tampered_payload_with_the_original_signature_is_401(api, patient, admin_user):
    header, _payload, signature = _login(api, patient)["access"].split(".")
    claims = {**_claims(_login(api, patient)["access"]), "user_id": admin_user.pk}
    forged = f"{header}.{_b64(claims)}.{signature}"
    _assert_401(_bearer(forged).get(PROFILE))
    _assert_401(_bearer(forged).get("/api/v1/users"))


def test_api2_tampered_signature_is_401(api, patient):
    header, payload, signature = _login(api, patient)["access"].split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    _assert_401(_bearer(f"{header}.{payload}.{flipped}").get(PROFILE))
    _assert_401(_bearer(f"{header}.{payload}.").get(PROFILE))


def test_api2_alg_none_token_is_401(api, patient, admin_user):
    claims = {**_claims(_login(api, patient)["access"]), "user_id": admin_user.pk}
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
        _assert_401(_bearer(unsigned).get(PROFILE))


def test_api2_token_signed_with_another_key_is_401(api, patient):
    claims = _claims(_login(api, patient)["access"])
    other = jwt.encode(claims, "an-attackers-key-that-is-long-enough-for-hs256-0123456789", algorithm="HS256")
    _assert_401(_bearer(other).get(PROFILE))


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_api2_token_with_the_right_key_but_another_algorithm_is_401(api, patient):
    claims = _claims(_login(api, patient)["access"])
    _assert_401(_bearer(jwt.encode(claims, _signing_key(), algorithm="HS512")).get(PROFILE))


def test_api2_validly_signed_token_missing_claims_is_401(api, patient):
    claims = _claims(_login(api, patient)["access"])
    for missing in ("jti", "ver", "user_id", "token_type", "exp"):
        forged = jwt.encode({k: v for k, v in claims.items() if k != missing}, _signing_key(), algorithm="HS256")
        _assert_401(_bearer(forged).get(PROFILE))


def test_api2_refresh_token_used_as_access_token_is_401(api, patient):
    _assert_401(_bearer(_login(api, patient)["refresh"]).get(PROFILE))


def test_api2_access_token_used_as_refresh_token_is_401(api, patient):
    _assert_401(api.post("/auth/refresh", {"refresh": _login(api, patient)["access"]}))


def test_api2_logout_revokes_the_access_and_the_refresh_token(api, patient):
    pair = _login(api, patient)
    assert _bearer(pair["access"]).post("/auth/logout", {"refresh": pair["refresh"]}).status_code == 200
    _assert_401(_bearer(pair["access"]).get(PROFILE))
    _assert_401(api.post("/auth/refresh", {"refresh": pair["refresh"]}))


def test_api2_rotated_refresh_token_is_refused_and_the_new_pair_works(api, patient):
    pair = _login(api, patient)
    rotated = api.post("/auth/refresh", {"refresh": pair["refresh"]})
    assert rotated.status_code == 200
    _assert_401(api.post("/auth/refresh", {"refresh": pair["refresh"]}))
    assert _bearer(rotated.json()["access"]).get(PROFILE).status_code == 200
    assert api.post("/auth/refresh", {"refresh": rotated.json()["refresh"]}).status_code == 200


def test_api2_tokens_issued_before_a_password_change_are_refused(api, patient):
    pair = _login(api, patient)
    changed = _bearer(pair["access"]).post(
        "/auth/change-password", {"old_password": PASSWORD, "new_password": "Another-Strong-Pass-77"}
    )
    assert changed.status_code == 200
    _assert_401(_bearer(pair["access"]).get(PROFILE))
    _assert_401(api.post("/auth/refresh", {"refresh": pair["refresh"]}))
    assert _bearer(changed.json()["access"]).get(PROFILE).status_code == 200


def test_api2_deactivated_accounts_tokens_are_refused(api, admin_client, driver_user):
    pair = _login(api, driver_user)
    assert admin_client.delete(f"/api/v1/users/{driver_user.pk}").status_code == 204
    _assert_401(_bearer(pair["access"]).get(PROFILE))
    _assert_401(api.post("/auth/refresh", {"refresh": pair["refresh"]}))
    assert api.post("/auth/login", {"username": driver_user.username, "password": PASSWORD}).status_code == 401


def test_api2_wrong_password_and_unknown_user_answer_alike(api, patient):
    wrong = api.post("/auth/login", {"username": patient.username, "password": "Not-The-Password-1"})
    unknown = api.post("/auth/login", {"username": "nobody-here", "password": "Not-The-Password-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize("path", ["/auth/admin/login", "/auth/hospital/login"])
def test_api2_role_specific_logins_refuse_other_roles_403(api, patient, path):
    response = api.post(path, {"username": patient.username, "password": PASSWORD})
    assert response.status_code == 403
    assert "access" not in response.json()


@pytest.mark.django_db(transaction=True)
def test_api2_one_refresh_token_redeemed_by_ten_threads_succeeds_at_most_once():
    user = UserFactory()
    refresh = _login(APIClient(), user)["refresh"]
    redeem = [lambda: APIClient().post("/auth/refresh", {"refresh": refresh}).status_code] * 10
    statuses = run_together(redeem)
    assert statuses.count(200) <= 1
    assert set(statuses) <= {200, 401}, statuses
    # And afterwards it is dead for good.
    assert APIClient().post("/auth/refresh", {"refresh": refresh}).status_code == 401


# =====================================================================================================
# API3 — Broken object property level authorization (mass assignment)
# =====================================================================================================

# Properties only the server sets. Sent to any endpoint, they are ignored or refused, never applied.
SERVER_OWNED = {
    "id": 424242,
    "is_staff": True,
    "is_superuser": True,
    "auth_version": 99,
    "date_joined": "2000-01-01T00:00:00Z",
    "last_login": "2000-01-01T00:00:00Z",
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "booked": 4,
    "last_token": 40,
    "token_number": 77,
    "initial_units": 9999,
    "reporter_id": 1,
    "requester_id": 1,
    "recorded_by_id": 1,
    "admitted_by_id": 1,
    "decided_by_id": 1,
    "booked_by_id": 1,
    "actor_id": 1,
    "allocations": [{"lot_id": 1, "units": 5}],
    "events": [{"status": "resolved"}],
    "current_admission": {"id": 1},
    "current_emergency_id": 1,
    "location_updated_at": "2000-01-01T00:00:00Z",
    "rejection_reason": "forged",
    "cancel_reason": "forged",
    "available": 99,
    "is_bookable": True,
}
SERVER_OWNED_NAMES = set(SERVER_OWNED) - {"id"}


def test_api3_no_request_schema_exposes_a_server_owned_property(api):
    schema = api.get("/api/schema?format=json").json()
    components = schema["components"]["schemas"]

    def properties(ref_or_schema, seen=()):
        target = ref_or_schema
        if "$ref" in target:
            name = target["$ref"].split("/")[-1]
            if name in seen:
                return set()
            seen = (*seen, name)
            target = components[name]
        names = set()
        for name, prop in target.get("properties", {}).items():
            if not prop.get("readOnly"):
                names |= {name} | properties(prop.get("items", prop), seen)
        for key in ("allOf", "oneOf", "anyOf"):
            for part in target.get(key, []):
                names |= properties(part, seen)
        return names

    leaks = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                exposed = properties(body) & SERVER_OWNED_NAMES
                if exposed:
                    leaks[f"{method.upper()} {path}"] = sorted(exposed)
    assert leaks == {}
    # The walk sees nested bodies (the hospital's `admin`, a visit's `prescriptions`).
    assert {"username", "medicine", "password"} <= set().union(
        *(
            properties(op["requestBody"]["content"]["application/json"]["schema"])
            for ops in schema["paths"].values()
            for op in ops.values()
            if isinstance(op, dict) and "requestBody" in op
        )
    )


def test_api3_register_refuses_privileged_roles(api):
    for role in ("admin", "hospital_admin", "doctor", "ambulance_driver", "superuser"):
        body = {
            "username": f"eve-{role}",
            "fullname": "Eve",
            "email": f"eve-{role}@x.org",
            "password": "Str0ng-Pass-99",
        }
        response = api.post("/auth/register", {**body, "role": role})
        assert response.status_code == 400 and attrs(response) == {"role"}
    assert not User.objects.filter(username__startswith="eve-").exists()


def test_api3_register_ignores_server_owned_account_properties(api, hospital):
    body = {"username": "mallory", "fullname": "Mallory", "email": "mallory@x.org", "password": "Str0ng-Pass-99"}
    response = api.post(
        "/auth/register", {**body, **SERVER_OWNED, "hospital_id": hospital.pk, "is_active": False, "role": "donor"}
    )
    assert response.status_code == 201, response.content
    user = User.objects.get(username="mallory")
    assert (user.is_staff, user.is_superuser, user.hospital_id, user.auth_version) == (False, False, None, 0)
    assert user.is_active and user.role == "donor" and user.pk != SERVER_OWNED["id"]
    assert user.date_joined.year > 2000


def test_api3_profile_cannot_change_role_username_flags_hospital_or_password(patient_client, patient, hospital):
    before = User.objects.values().get(pk=patient.pk)
    response = patient_client.patch(
        PROFILE,
        {
            **SERVER_OWNED,
            "role": "admin",
            "username": "renamed",
            "hospital_id": hospital.pk,
            "is_active": False,
            "password": "Hijacked-Pass-123",
            "phone_num": "12345",
        },
    )
    assert response.status_code in (200, 400)
    after = User.objects.values().get(pk=patient.pk)
    changed = {key for key in before if before[key] != after[key]}
    assert changed <= {"phone_num"}
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)


def test_api3_hospital_admin_cannot_grant_admin_or_django_staff_through_users(hospital_admin_client, hospital):
    body = {"username": "drv1", "fullname": "Driver One", "email": "drv1@x.org", "password": "Str0ng-Pass-99"}
    as_admin = hospital_admin_client.post("/api/v1/users", {**body, "role": "admin"})
    assert as_admin.status_code == 403
    flags = hospital_admin_client.post(
        "/api/v1/users", {**body, **SERVER_OWNED, "role": "ambulance_driver", "hospital_id": hospital.pk}
    )
    assert flags.status_code == 201, flags.content
    driver = User.objects.get(username="drv1")
    assert (driver.is_staff, driver.is_superuser, driver.auth_version, driver.role) == (
        False,
        False,
        0,
        "ambulance_driver",
    )
    promote = hospital_admin_client.patch(f"/api/v1/users/{driver.pk}", {"role": "admin"})
    assert promote.status_code == 400 and attrs(promote) == {"hospital_id"}
    promote = hospital_admin_client.patch(f"/api/v1/users/{driver.pk}", {"role": "admin", "hospital_id": None})
    assert promote.status_code == 403
    flags = hospital_admin_client.patch(f"/api/v1/users/{driver.pk}", {"is_staff": True, "is_superuser": True})
    assert flags.status_code == 200
    driver.refresh_from_db()
    assert (driver.role, driver.is_staff, driver.is_superuser) == ("ambulance_driver", False, False)


def test_api3_hospital_admin_cannot_move_staff_or_create_in_another_hospital(
    hospital_admin_client, driver_user, other_hospital
):
    moved = hospital_admin_client.patch(f"/api/v1/users/{driver_user.pk}", {"hospital_id": other_hospital.pk})
    assert moved.status_code == 403
    assert User.objects.get(pk=driver_user.pk).hospital_id != other_hospital.pk
    body = {"username": "x1", "fullname": "X", "email": "x1@x.org", "password": "Str0ng-Pass-99"}
    response = hospital_admin_client.post(
        "/api/v1/users", {**body, "role": "ambulance_driver", "hospital_id": other_hospital.pk}
    )
    assert response.status_code == 403 and not User.objects.filter(username="x1").exists()


def test_api3_hospital_admin_cannot_deactivate_its_hospital_or_forge_timestamps(world, hospital_admin_client):
    url = f"/api/v1/hospitals/{world.hospital.pk}"
    assert hospital_admin_client.patch(url, {"is_active": False}).status_code == 403
    response = hospital_admin_client.patch(url, {**SERVER_OWNED, "name": "Renamed General"})
    assert response.status_code == 200, response.content
    hospital = Hospital.objects.get(pk=world.hospital.pk)
    assert hospital.is_active and hospital.name == "Renamed General" and hospital.created_at.year > 2000


def test_api3_floors_and_wards_cannot_move_to_another_hospital(world, hospital_admin_client):
    floor = hospital_admin_client.patch(
        f"/api/v1/floors/{world.floor.pk}", {"floor_number": "9", "hospital_id": world.other_hospital.pk}
    )
    ward = hospital_admin_client.patch(f"/api/v1/wards/{world.ward.pk}", {"hospital_id": world.other_hospital.pk})
    assert floor.status_code in (400, 403) and ward.status_code in (400, 403)
    assert Floor.objects.get(pk=world.floor.pk).hospital_id == world.hospital.pk
    assert Ward.objects.get(pk=world.ward.pk).hospital_id == world.hospital.pk


def test_api3_bed_status_and_hospital_are_not_writable_through_crud(world, hospital_admin_client):
    url = f"/api/v1/beds/{world.free_bed.pk}"
    assert hospital_admin_client.patch(url, {"status": "occupied"}).status_code == 400
    assert hospital_admin_client.patch(url, {"status": "maintenance"}).status_code == 400
    response = hospital_admin_client.patch(url, {**SERVER_OWNED, "hospital_id": world.other_hospital.pk})
    assert response.status_code in (200, 400)
    bed = Bed.objects.get(pk=world.free_bed.pk)
    assert (bed.status, bed.hospital_id) == ("available", world.hospital.pk)
    created = hospital_admin_client.post(
        "/api/v1/beds", {"ward_id": world.ward.pk, "bed_number": "NEW-1", "status": "occupied"}
    )
    assert created.status_code == 400 and attrs(created) == {"status"}


def test_api3_admit_ignores_forged_admission_properties(world, doctor_client, other_patient):
    response = doctor_client.post(
        f"/api/v1/beds/{world.free_bed.pk}/admit",
        {
            **SERVER_OWNED,
            "patient_id": other_patient.pk,
            "hospital_id": world.other_hospital.pk,
            "discharged_at": "2000-01-01T00:00:00Z",
            "admitted_at": "2000-01-01T00:00:00Z",
            "bed_id": world.bed.pk,
        },
    )
    assert response.status_code == 201, response.content
    admission = Admission.objects.get(pk=response.json()["id"])
    assert admission.bed_id == world.free_bed.pk and admission.hospital_id == world.hospital.pk
    assert admission.discharged_at is None and admission.admitted_at.year > 2000
    assert admission.admitted_by_id == world.doctor.user_id


def test_api3_doctor_profile_cannot_change_account_or_hospital(world, hospital_admin_client):
    response = hospital_admin_client.patch(
        f"/api/v1/doctors/{world.doctor.pk}",
        {**SERVER_OWNED, "user_id": world.patient.pk, "hospital_id": world.other_hospital.pk, "department": "ENT"},
    )
    assert response.status_code in (200, 400)
    doctor = Doctor.objects.get(pk=world.doctor.pk)
    assert (doctor.user_id, doctor.hospital_id) == (world.doctor.user_id, world.hospital.pk)


def test_api3_hospital_admin_cannot_create_a_doctor_in_another_hospital(world, hospital_admin_client):
    response = hospital_admin_client.post(
        "/api/v1/doctors",
        {
            "user_id": world.donor.pk,
            "hospital_id": world.other_hospital.pk,
            "specialization": "X",
            "license_number": "L1",
        },
    )
    assert response.status_code == 403
    assert not Doctor.objects.filter(license_number="L1").exists()


def test_api3_schedule_cannot_move_to_another_doctor_or_hospital(world, doctor_client):
    response = doctor_client.patch(
        f"/api/v1/opd-schedules/{world.schedule.pk}",
        {**SERVER_OWNED, "doctor_id": world.other_doctor.pk, "hospital_id": world.other_hospital.pk},
    )
    assert response.status_code in (200, 400)
    schedule = OpdSchedule.objects.get(pk=world.schedule.pk)
    assert (schedule.doctor_id, schedule.hospital_id) == (world.doctor.pk, world.hospital.pk)


def test_api3_slot_counters_and_owner_are_not_writable(world, doctor_client):
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    created = doctor_client.post(
        "/api/v1/slots",
        {**SERVER_OWNED, "start": start.isoformat(), "end": (start + timedelta(minutes=15)).isoformat(), "capacity": 3},
    )
    assert created.status_code == 201, created.content
    slot = Slot.objects.get(pk=created.json()["id"])
    assert (slot.booked, slot.last_token, slot.doctor_id) == (0, 0, world.doctor.pk)
    response = doctor_client.patch(
        f"/api/v1/slots/{world.slot.pk}",
        {
            **SERVER_OWNED,
            "doctor_id": world.other_doctor.pk,
            "hospital_id": world.other_hospital.pk,
            "start": start.isoformat(),
        },
    )
    assert response.status_code in (200, 400)
    slot = Slot.objects.get(pk=world.slot.pk)
    assert (slot.booked, slot.last_token, slot.doctor_id, slot.hospital_id) == (
        1,
        1,
        world.doctor.pk,
        world.hospital.pk,
    )
    assert slot.start == world.slot.start


def test_api3_booking_ignores_forged_status_token_and_doctor(world, other_patient_client, other_patient):
    response = other_patient_client.post(
        "/api/v1/appointments",
        {
            **SERVER_OWNED,
            "slot_id": world.slot.pk,
            "status": "completed",
            "doctor_id": world.other_doctor.pk,
            "cancel_reason": "x",
        },
    )
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get(pk=response.json()["id"])
    assert appointment.status == "booked" and appointment.token_number == 2
    assert (appointment.patient_id, appointment.doctor_id, appointment.booked_by_id) == (
        other_patient.pk,
        world.doctor.pk,
        other_patient.pk,
    )
    assert Slot.objects.get(pk=world.slot.pk).booked == 2


def test_api3_patient_cannot_set_status_token_or_owner_of_its_appointment(world, patient_client):
    before = Appointment.objects.values().get(pk=world.appointment.pk)
    response = patient_client.patch(
        clinical_url(world, "appointment"),
        {
            **SERVER_OWNED,
            "status": "completed",
            "patient_id": world.other_patient.pk,
            "doctor_id": world.other_doctor.pk,
            "hospital_id": world.other_hospital.pk,
        },
    )
    assert response.status_code in (200, 400)
    after = Appointment.objects.values().get(pk=world.appointment.pk)
    assert {key for key in before if before[key] != after[key]} <= {"updated_at"}


def test_api3_visit_hospital_and_doctor_come_from_the_caller(world, doctor_client):
    response = doctor_client.post(
        "/api/v1/visits",
        {
            **SERVER_OWNED,
            "appointment_id": world.appointment.pk,
            "doctor_id": world.other_doctor.pk,
            "hospital_id": world.other_hospital.pk,
            "complaint": "Fever",
        },
    )
    assert response.status_code == 201, response.content
    visit = Visit.objects.get(pk=response.json()["id"])
    assert (visit.doctor_id, visit.hospital_id, visit.patient_id) == (
        world.doctor.pk,
        world.hospital.pk,
        world.patient.pk,
    )
    assert visit.created_at.year > 2000


def test_api3_hospital_admin_cannot_deactivate_or_move_its_blood_bank(world, hospital_admin_client):
    url = f"/api/v1/blood-banks/{world.bank.pk}"
    assert hospital_admin_client.patch(url, {"is_active": False}).status_code == 403
    assert hospital_admin_client.patch(url, {"hospital_id": world.other_hospital.pk}).status_code == 403
    bank = BloodBank.objects.get(pk=world.bank.pk)
    assert bank.is_active and bank.hospital_id == world.hospital.pk


def test_api3_stock_lot_status_and_initial_units_are_server_owned(world, hospital_admin_client):
    other_bank = BloodBank.objects.create(name="Other", license_number="OTHER-1", hospital=world.other_hospital)
    response = hospital_admin_client.post(
        f"/api/v1/blood-banks/{world.bank.pk}/stock",
        {**SERVER_OWNED, "blood_group": "B+", "units": 3, "status": "expired", "blood_bank_id": other_bank.pk},
    )
    assert response.status_code == 201, response.content
    lot = StockLot.objects.get(pk=response.json()["id"])
    assert (lot.status, lot.units, lot.initial_units, lot.blood_bank_id) == ("available", 3, 3, world.bank.pk)


def test_api3_blood_request_status_requester_and_allocations_are_server_owned(
    world, other_patient_client, other_patient
):
    response = other_patient_client.post(
        "/api/v1/blood-requests",
        {
            **SERVER_OWNED,
            "blood_bank_id": world.bank.pk,
            "patient_name": "Ravi",
            "blood_group": "A+",
            "component": "packed_red_cells",
            "units": 2,
            "status": "approved",
            "requester_id": world.patient.pk,
        },
    )
    assert response.status_code == 201, response.content
    blood_request = BloodRequest.objects.get(pk=response.json()["id"])
    assert (blood_request.status, blood_request.requester_id, blood_request.decided_by_id) == (
        "pending",
        other_patient.pk,
        None,
    )
    assert not blood_request.allocations.exists() and blood_request.rejection_reason == ""
    assert StockLot.objects.get(pk=world.lot.pk).units == 10
    assert other_patient_client.post("/api/v1/blood-requests", {"units": 101}).status_code == 400


def test_api3_donation_lot_and_recorder_are_server_owned(world, hospital_admin_client, hospital_admin):
    donor = UserFactory(role="donor", blood_group="B-")
    response = hospital_admin_client.post(
        "/api/v1/donations",
        {**SERVER_OWNED, "donor_id": donor.pk, "blood_bank_id": world.bank.pk, "lot_id": world.lot.pk},
    )
    assert response.status_code == 201, response.content
    donation = Donation.objects.get(pk=response.json()["id"])
    assert donation.lot_id != world.lot.pk and donation.recorded_by_id == hospital_admin.pk
    assert donation.lot.units == donation.units == 1


def test_api3_emergency_report_cannot_forge_status_reporter_ambulance_or_events(world, api, other_patient_client):
    body = {
        **SERVER_OWNED,
        "contact_number": "+91 99999 00000",
        "emergency_type": "cardiac",
        "latitude": 18.5,
        "longitude": 73.8,
        "status": "resolved",
        "reporter_id": world.patient.pk,
        "ambulance_id": world.ambulance.pk,
    }
    anonymous = api.post("/api/v1/emergencies", body)
    signed_in = other_patient_client.post("/api/v1/emergencies", body)
    assert anonymous.status_code == signed_in.status_code == 201, anonymous.content
    for response, reporter in ((anonymous, None), (signed_in, world.other_patient.pk)):
        emergency = Emergency.objects.get(pk=response.json()["id"])
        assert (emergency.status, emergency.reporter_id, emergency.ambulance_id) == ("reported", reporter, None)
        assert emergency.events.count() == 1
    assert Ambulance.objects.get(pk=world.ambulance.pk).status == "available"


def test_api3_ambulance_status_and_hospital_are_not_writable_through_crud(world, hospital_admin_client):
    created = hospital_admin_client.post(
        "/api/v1/ambulances", {**SERVER_OWNED, "vehicle_number": "MH-01-ZZ-0001", "status": "dispatched"}
    )
    assert created.status_code == 201, created.content
    assert Ambulance.objects.get(pk=created.json()["id"]).status == "available"
    url = f"/api/v1/ambulances/{world.ambulance.pk}"
    assert hospital_admin_client.patch(url, {"hospital_id": world.other_hospital.pk}).status_code == 403
    response = hospital_admin_client.patch(url, {**SERVER_OWNED, "status": "busy"})
    assert response.status_code in (200, 400)
    ambulance = Ambulance.objects.get(pk=world.ambulance.pk)
    assert (ambulance.status, ambulance.hospital_id) == ("available", world.hospital.pk)


def test_api3_dispatch_ignores_forged_status_and_hospital(world, hospital_admin_client):
    response = hospital_admin_client.post(
        f"{clinical_url(world, 'emergency')}/dispatch",
        {**SERVER_OWNED, "status": "resolved", "hospital_id": world.other_hospital.pk},
    )
    assert response.status_code == 200, response.content
    emergency = Emergency.objects.get(pk=world.emergency.pk)
    assert (emergency.status, emergency.hospital_id, emergency.ambulance_id) == (
        "dispatched",
        world.hospital.pk,
        world.ambulance.pk,
    )


# =====================================================================================================
# API4 — Unrestricted resource consumption
# =====================================================================================================

MIB = 1024 * 1024


def test_api4_page_size_is_capped_at_100(api):
    Hospital.objects.bulk_create(
        [Hospital(name=f"Bulk {n}", registration_number=f"BULK-{n:04d}", city="Pune") for n in range(105)]
    )
    response = api.get("/api/v1/hospitals", {"page_size": 1000})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 105 and len(body["results"]) == 100 and body["next"]
    assert len(api.get("/api/v1/hospitals").json()["results"]) == 20


@pytest.mark.parametrize("route", list_routes(), ids=lambda route: route.path)
def test_api4_every_list_is_paginated_and_capped(world, admin_client, route):
    response = admin_client.get(route.url(), {"page_size": 1000})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results"} and len(body["results"]) <= 100
    assert route.view_class.pagination_class.max_page_size == 100


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e3", "10.5", "", " ", "\x00", "١٠"])
def test_api4_unreadable_page_size_is_400(api, value):
    response = api.get("/api/v1/hospitals", {"page_size": value})
    assert response.status_code == 400 and attrs(response) == {"page_size"}


@pytest.mark.parametrize(
    "path, client_name",
    [
        ("/auth/login", "api"),
        ("/auth/register", "api"),
        ("/api/v1/emergencies", "api"),
        ("/api/v1/appointments", "patient_client"),
        ("/api/v1/hospitals", "admin_client"),
        ("/api/v1/blood-requests", "patient_client"),
    ],
)
def test_api4_bodies_over_one_mib_are_413_and_change_nothing(request, world, path, client_name):
    client = request.getfixturevalue(client_name)
    counts = (Emergency.objects.count(), Appointment.objects.count(), Hospital.objects.count(), User.objects.count())
    body = json.dumps({"reason": "x" * (MIB + 10), "contact_number": "+1 555 0100", "emergency_type": "other"})
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    after = (Emergency.objects.count(), Appointment.objects.count(), Hospital.objects.count(), User.objects.count())
    assert after == counts
    just_under = json.dumps({"username": "x", "password": "y", "pad": "z" * (MIB - 200)})
    assert client.post("/auth/login", data=just_under, content_type="application/json").status_code != 413


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"username": ' + "9" * 50_000 + ', "password": "x"}',
        '{"username": "a", "password": "b"',
        '{"username": NaN, "password": Infinity}',
        "\ud800",
    ],
    ids=["deep-array", "deep-object", "huge-integer", "truncated", "nan", "lone-surrogate"],
)
def test_api4_pathological_json_is_400_not_500(api, body):
    response = api.post("/auth/login", data=body.encode("utf-8", "surrogatepass"), content_type="application/json")
    assert response.status_code == 400
    assert error(response)["code"] == "parse_error"


def test_api4_login_failures_are_throttled_per_username_even_for_the_right_password(api, patient):
    for _ in range(5):
        assert api.post("/auth/login", {"username": patient.username, "password": "Wrong-Pass-1"}).status_code == 401
    blocked = api.post("/auth/login", {"username": patient.username, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert error(blocked)["code"] == "throttled"
    # Another account from another address is not affected.
    other = UserFactory()
    assert (
        api.post("/auth/login", {"username": other.username, "password": PASSWORD}, REMOTE_ADDR="10.9.9.9").status_code
        == 200
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert api.post("/auth/login", {"username": patient.username, "password": PASSWORD}).status_code == 200


def test_api4_login_failures_are_throttled_per_client_address(api, patient):
    for n in range(20):
        assert api.post("/auth/login", {"username": f"guess{n}", "password": "Wrong-Pass-1"}).status_code == 401
    assert api.post("/auth/login", {"username": patient.username, "password": PASSWORD}).status_code == 429
    assert (
        api.post(
            "/auth/login", {"username": patient.username, "password": PASSWORD}, REMOTE_ADDR="10.8.8.8"
        ).status_code
        == 200
    )


def test_api4_anonymous_emergency_reports_are_throttled_at_ten_a_minute(api, hospital):
    report = {"contact_number": "+91 98765 43210", "emergency_type": "accident", "latitude": 18.52, "longitude": 73.85}
    assert [api.post("/api/v1/emergencies", report).status_code for _ in range(10)] == [201] * 10
    response = api.post("/api/v1/emergencies", report)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert Emergency.objects.count() == 10


@pytest.fixture
def low_rates(settings, monkeypatch):
    """DRF binds throttle rates on the class at import; tests lower them on the class too."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "booking": "3/min", "register": "3/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(EmergencyReportThrottle, "THROTTLE_RATES", rates)
    return rates


def test_api4_registration_is_throttled_per_client_address(api, low_rates):
    def register(n, **extra):
        body = {"username": f"bulk{n}", "fullname": "Bulk", "email": f"bulk{n}@x.org", "password": "Str0ng-Pass-99"}
        return api.post("/auth/register", body, **extra).status_code

    assert [register(n) for n in range(3)] == [201] * 3
    assert register(3) == 429
    assert register(4, REMOTE_ADDR="10.7.7.7") == 201
    assert User.objects.filter(username__startswith="bulk").count() == 4


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/auth/refresh"])
def test_api4_oversized_credentials_are_400_before_any_hashing(api, path, monkeypatch):
    from django.contrib.auth import base_user, hashers

    def no_hashing(*args, **kwargs):
        raise AssertionError("a password was hashed")

    for module in (hashers, base_user):
        monkeypatch.setattr(module, "make_password", no_hashing)
        monkeypatch.setattr(module, "check_password", no_hashing)
    huge = "p" * 100_000
    body = {"username": "u" * 300, "password": huge, "fullname": "F", "email": "e@x.org", "refresh": huge}
    response = api.post(path, body)
    assert response.status_code == 400
    assert attrs(response) & {"username", "password", "refresh"}


def test_api4_booking_is_throttled_with_retry_after(world, other_patient_client, low_rates):
    slots = SlotFactory.create_batch(4, doctor=world.doctor, capacity=5)
    for slot in slots[:3]:
        assert other_patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}).status_code == 201
    response = other_patient_client.post("/api/v1/appointments", {"slot_id": slots[3].pk})
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
    assert error(response)["code"] == "throttled"
    assert not Appointment.objects.filter(slot=slots[3]).exists()
    # Reads are not throttled by the booking budget.
    assert other_patient_client.get("/api/v1/appointments").status_code == 200


def test_api4_collections_and_ranges_in_bodies_are_bounded(world, doctor_client, hospital_admin_client):
    too_many = [{"medicine": f"M{n}"} for n in range(51)]
    response = doctor_client.post("/api/v1/visits", {"appointment_id": world.appointment.pk, "prescriptions": too_many})
    assert response.status_code == 400 and attrs(response) == {"prescriptions"}
    response = doctor_client.post(
        f"/api/v1/opd-schedules/{world.schedule.pk}/generate-slots",
        {"from_date": str(timezone.localdate()), "to_date": str(timezone.localdate() + timedelta(days=91))},
    )
    assert response.status_code == 400 and attrs(response) == {"to_date"}
    response = hospital_admin_client.post(
        f"/api/v1/blood-banks/{world.bank.pk}/stock", {"blood_group": "A+", "units": 10**6}
    )
    assert response.status_code == 400 and attrs(response) == {"units"}
    response = doctor_client.patch(f"/api/v1/slots/{world.spare_slot.pk}", {"capacity": 10**6})
    assert response.status_code == 400 and attrs(response) == {"capacity"}
    assert Visit.objects.count() == 1 and Slot.objects.get(pk=world.spare_slot.pk).capacity == 5


# =====================================================================================================
# API5 — Broken function level authorization
# =====================================================================================================


def snapshot() -> dict:
    """Every row of every domain table (the audit trail aside), to prove a refused call changed nothing."""
    from django.apps import apps

    tables = {}
    for model in apps.get_models():
        domain = model._meta.app_label in ("accounts", "hospitals", "appointments", "bloodbank", "emergency")
        if domain and model is not Activity:
            tables[model._meta.label] = list(model.objects.order_by("pk").values())
    return tables


# (method, path, body): staff and admin functions, with ids filled from the world.
STAFF_FUNCTIONS = [
    ("post", "/api/v1/beds/{free_bed}/admit", {"patient_id": "{patient}"}),
    ("post", "/api/v1/beds/{bed}/discharge", {}),
    ("post", "/api/v1/beds/{bed}/transfer", {"to_bed_id": "{free_bed}"}),
    ("post", "/api/v1/beds/{free_bed}/status", {"status": "maintenance"}),
    ("post", "/api/v1/beds", {"ward_id": "{ward}", "bed_number": "X-1"}),
    ("patch", "/api/v1/beds/{free_bed}", {"bed_number": "X-2"}),
    ("post", "/api/v1/blood-requests/{blood_request}/approve", {}),
    ("post", "/api/v1/blood-requests/{blood_request}/reject", {"reason": "no"}),
    ("post", "/api/v1/blood-requests/{blood_request}/fulfil", {}),
    ("post", "/api/v1/emergencies/{emergency}/dispatch", {}),
    ("post", "/api/v1/emergencies/{emergency}/forward", {"hospital_id": "{other_hospital}", "reason": "x"}),
    ("post", "/api/v1/emergencies/{emergency}/status", {"status": "cancelled"}),
    ("post", "/api/v1/opd-schedules/{schedule}/generate-slots", {"to_date": "{in_a_week}"}),
    (
        "post",
        "/api/v1/opd-schedules",
        {"doctor_id": "{doctor}", "weekdays": [0], "start_time": "09:00", "end_time": "10:00"},
    ),
    ("patch", "/api/v1/opd-schedules/{schedule}", {"is_active": False}),
    ("post", "/api/v1/slots", {"doctor_id": "{doctor}", "start": "{tomorrow}", "end": "{tomorrow_later}"}),
    ("patch", "/api/v1/slots/{spare_slot}", {"capacity": 1}),
    ("post", "/api/v1/appointments/{appointment}/check-in", {}),
    ("post", "/api/v1/appointments/{appointment}/complete", {}),
    ("post", "/api/v1/appointments/{appointment}/no-show", {}),
    ("post", "/api/v1/visits", {"appointment_id": "{appointment}", "complaint": "x"}),
    ("get", "/api/v1/users", None),
    ("get", "/api/v1/users/{patient}", None),
    ("post", "/api/v1/users", {"username": "z", "fullname": "Z", "email": "z@x.org", "password": "Str0ng-Pass-99"}),
    ("patch", "/api/v1/users/{patient}", {"role": "admin"}),
    ("delete", "/api/v1/users/{other_patient}", None),
    ("get", "/api/v1/activity", None),
    ("get", "/api/v1/activity/{activity}", None),
    ("get", "/api/v1/system/status", None),
    ("post", "/api/v1/hospitals", {"name": "H", "registration_number": "R-X"}),
    ("patch", "/api/v1/hospitals/{hospital}", {"name": "Renamed"}),
    ("delete", "/api/v1/hospitals/{hospital}", None),
    ("post", "/api/v1/hospitals/{hospital}/floors", {"floor_number": "77"}),
    ("post", "/api/v1/floors", {"hospital_id": "{hospital}", "floor_number": "78"}),
    ("post", "/api/v1/wards", {"hospital_id": "{hospital}", "floor_id": "{floor}", "name": "W"}),
    (
        "post",
        "/api/v1/doctors",
        {"user_id": "{other_patient}", "hospital_id": "{hospital}", "specialization": "X", "license_number": "L-X"},
    ),
    ("patch", "/api/v1/doctors/{doctor}", {"is_available": False}),
    ("post", "/api/v1/blood-banks", {"name": "B", "license_number": "B-X"}),
    ("patch", "/api/v1/blood-banks/{bank}", {"name": "Renamed"}),
    ("delete", "/api/v1/blood-banks/{bank}", None),
    ("post", "/api/v1/blood-banks/{bank}/stock", {"blood_group": "A+", "units": 5}),
    ("post", "/api/v1/donations", {"donor_id": "{donor}", "blood_bank_id": "{bank}"}),
    ("get", "/api/v1/ambulances", None),
    ("get", "/api/v1/ambulances/{ambulance}", None),
    ("post", "/api/v1/ambulances", {"hospital_id": "{hospital}", "vehicle_number": "EVIL-1"}),
    ("patch", "/api/v1/ambulances/{ambulance}", {"vehicle_number": "EVIL-2"}),
    ("post", "/api/v1/ambulances/{ambulance}/location", {"latitude": 1.0, "longitude": 1.0}),
    ("post", "/api/v1/ambulances/{ambulance}/status", {"status": "out_of_service"}),
    ("get", "/api/v1/ambulances/{ambulance}/locations", None),
    ("post", "/hospital/register", {"name": "H", "registration_number": "R-Y"}),
    ("put", "/hospital/update/{hospital}", {"name": "Renamed"}),
    ("delete", "/hospital/delete/{hospital}", None),
    ("post", "/hospital/{hospital}/floors/create", {"floor_number": "79"}),
    ("post", "/bloodbank/register", {"name": "B", "license_number": "B-Y"}),
    ("post", "/bloodbank/{bank}/addstock", {"blood_group": "A+", "units": 5}),
]


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _ids(world) -> dict:
    tomorrow = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    ids = {
        name: getattr(world, name).pk
        for name in (
            "hospital", "other_hospital", "patient", "other_patient", "donor", "doctor", "schedule", "spare_slot",
            "appointment", "visit", "ward", "floor", "bed", "free_bed", "admission", "bank", "blood_request",
            "ambulance", "emergency",
        )
    }  # fmt: skip
    ids["activity"] = Activity.objects.create(action="login").pk
    ids["doctors_request"] = BloodRequest.objects.create(
        requester=world.doctor.user, blood_bank=world.bank, patient_name="Ward patient", blood_group="A+", units=1
    ).pk
    ids["in_a_week"] = str(timezone.localdate() + timedelta(days=7))
    ids["tomorrow"] = tomorrow.isoformat()
    ids["tomorrow_later"] = (tomorrow + timedelta(minutes=15)).isoformat()
    return ids


def _call(client, method, path, body, ids):
    url = path.format(**ids)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, _fill(body, ids), format="json")


@pytest.mark.parametrize("method, path, body", STAFF_FUNCTIONS, ids=[f"{m} {p}" for m, p, _ in STAFF_FUNCTIONS])
def test_api5_patient_calling_a_staff_function_gets_403_and_changes_nothing(world, patient_client, method, path, body):
    ids = _ids(world)
    before = snapshot()
    response = _call(patient_client, method, path, body, ids)
    assert response.status_code == 403, response.content
    assert error(response)["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.parametrize("method, path, body", STAFF_FUNCTIONS, ids=[f"{m} {p}" for m, p, _ in STAFF_FUNCTIONS])
def test_api5_anonymous_caller_of_a_staff_function_gets_401(world, api, method, path, body):
    ids = _ids(world)
    before = snapshot()
    response = _call(api, method, path, body, ids)
    assert response.status_code == 401, response.content
    assert snapshot() == before


@pytest.mark.parametrize(
    "client_name, method, path, body",
    [
        ("driver_client", "post", "/api/v1/appointments", {"slot_id": "{spare_slot}", "patient_id": "{patient}"}),
        ("driver_client", "post", "/api/v1/beds/{free_bed}/admit", {"patient_id": "{other_patient}"}),
        ("driver_client", "post", "/api/v1/opd-schedules/{schedule}/generate-slots", {"to_date": "{in_a_week}"}),
        ("driver_client", "post", "/api/v1/emergencies/{emergency}/dispatch", {}),
        ("donor_client", "post", "/api/v1/beds/{free_bed}/admit", {"patient_id": "{other_patient}"}),
        ("donor_client", "get", "/api/v1/ambulances", None),
        ("doctor_client", "get", "/api/v1/users", None),
        ("doctor_client", "post", "/api/v1/blood-requests/{doctors_request}/approve", {}),
        ("doctor_client", "post", "/api/v1/emergencies/{emergency}/dispatch", {}),
        ("doctor_client", "post", "/api/v1/donations", {"donor_id": "{donor}", "blood_bank_id": "{bank}"}),
        ("doctor_client", "get", "/api/v1/activity", None),
        ("hospital_admin_client", "get", "/api/v1/activity", None),
        ("hospital_admin_client", "get", "/api/v1/system/status", None),
        ("hospital_admin_client", "post", "/api/v1/hospitals", {"name": "H", "registration_number": "R-Z"}),
        ("hospital_admin_client", "delete", "/api/v1/hospitals/{hospital}", None),
        ("hospital_admin_client", "post", "/api/v1/blood-banks", {"name": "B", "license_number": "B-Z"}),
        ("hospital_admin_client", "post", "/api/v1/visits", {"appointment_id": "{appointment}"}),
        ("other_hospital_admin_client", "patch", "/api/v1/hospitals/{hospital}", {"name": "Stolen"}),
        ("other_hospital_admin_client", "post", "/api/v1/beds/{free_bed}/status", {"status": "maintenance"}),
        ("other_hospital_admin_client", "post", "/api/v1/blood-banks/{bank}/stock", {"blood_group": "A+", "units": 1}),
        (
            "other_hospital_admin_client",
            "post",
            "/api/v1/opd-schedules/{schedule}/generate-slots",
            {"to_date": "{in_a_week}"},
        ),
    ],
)
def test_api5_roles_calling_functions_outside_their_role_get_403(request, world, client_name, method, path, body):
    ids = _ids(world)
    client = request.getfixturevalue(client_name)
    before = snapshot()
    response = _call(client, method, path, body, ids)
    assert response.status_code == 403, response.content
    assert snapshot() == before


def test_api5_non_staff_accounts_cannot_enter_the_admin_site(world, api, hospital_admin):
    for user in (world.patient, hospital_admin):
        api.force_login(user)
        response = api.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    api.force_login(world.admin)
    assert api.get("/admin/").status_code == 200


# =====================================================================================================
# API6 — Unrestricted access to sensitive business flows
# =====================================================================================================


def test_api6_booking_spam_is_throttled_per_user(world, patient_client, other_patient_client, low_rates):
    slots = SlotFactory.create_batch(5, doctor=world.doctor, capacity=5)
    statuses = [patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}).status_code for slot in slots[:4]]
    assert statuses == [201, 201, 201, 429]
    assert Appointment.objects.filter(patient=world.patient, slot__in=slots).count() == 3
    # The budget is the user's own: another patient books at once, and a minute later so can the first.
    assert other_patient_client.post("/api/v1/appointments", {"slot_id": slots[4].pk}).status_code == 201
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert patient_client.post("/api/v1/appointments", {"slot_id": slots[4].pk}).status_code == 201


def test_api6_failed_booking_attempts_spend_the_budget_too(world, patient_client, low_rates):
    for _ in range(3):
        assert patient_client.post("/api/v1/appointments", {"slot_id": MISSING_ID}).status_code == 404
    assert patient_client.post("/api/v1/appointments", {"slot_id": world.spare_slot.pk}).status_code == 429
    assert not Appointment.objects.filter(slot=world.spare_slot).exists()


def test_api6_a_patient_holds_one_seat_per_slot(world, patient_client):
    response = patient_client.post("/api/v1/appointments", {"slot_id": world.slot.pk})
    assert response.status_code == 409
    assert Appointment.objects.filter(patient=world.patient, slot=world.slot).count() == 1
    assert Slot.objects.get(pk=world.slot.pk).booked == 1


def test_api6_retried_booking_with_an_idempotency_key_books_once(world, other_patient_client):
    key = {"HTTP_IDEMPOTENCY_KEY": "retry-0001"}
    first = other_patient_client.post("/api/v1/appointments", {"slot_id": world.spare_slot.pk}, **key)
    again = other_patient_client.post("/api/v1/appointments", {"slot_id": world.spare_slot.pk}, **key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Slot.objects.get(pk=world.spare_slot.pk).booked == 1
    changed = other_patient_client.post("/api/v1/appointments", {"slot_id": world.slot.pk}, **key)
    assert changed.status_code == 422


def test_api6_cancel_and_rebook_churn_is_throttled(world, other_patient_client, low_rates):
    slot = world.spare_slot
    booked = other_patient_client.post("/api/v1/appointments", {"slot_id": slot.pk})
    assert booked.status_code == 201
    other_patient_client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")
    statuses = []
    for _ in range(3):
        response = other_patient_client.post("/api/v1/appointments", {"slot_id": slot.pk})
        statuses.append(response.status_code)
        if response.status_code == 201:
            other_patient_client.post(f"/api/v1/appointments/{response.json()['id']}/cancel")
    assert statuses == [201, 201, 429]
    slot.refresh_from_db()
    assert slot.booked == 0 and slot.last_token == 3


# =====================================================================================================
# API7 — Server side request forgery and injection
# =====================================================================================================

# None of these can be a real value of any filter over the test data: a 200 must be an empty result.
HOSTILE_VALUES = [
    "' OR '1'='1",
    "1' OR 1=1 --",
    "1; DROP TABLE accounts_user; --",
    '" OR ""="',
    "admin'--",
    "') UNION SELECT password, username FROM accounts_user --",
    "1) OR (1=1",
    "%",
    "_",
    "%%",
    "\\",
    "\x00",
    "a\x00b",
    "\u202e\u0000\ufeff",
    "𝕳𝖊𝖑𝖑𝖔 😀 ü ñ 漢字 \u200b",
    "x" * 10_000,
    "ü" * 5_000,
    "9" * 400,
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "[]",
    "{}",
    "1,2",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "../../../../etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "<script>alert(1)</script>",
    "\r\nSet-Cookie: evil=1",
    "2026-13-45",
    "1 OR 1=1",
]


@pytest.fixture(scope="module")
def openapi():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _query_parameters(openapi, route) -> dict[str, str]:
    """name -> schema type of every documented query parameter of the route's GET."""
    operation = openapi["paths"][route.path]["get"]
    return {
        p["name"]: p.get("schema", {}).get("type", "string")
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p["name"] != "page"
    }


def _legitimate(name: str, kind: str, value: str) -> bool:
    """The few hostile values that are also real values of some parameter."""
    if kind == "boolean":
        return value == "0"
    if name == "page_size":
        return value.isdigit() and int(value) > 0
    return False


def _all_ids(client, url, params=None) -> set[int]:
    ids, page = set(), 1
    while True:
        body = client.get(url, {**(params or {}), "page_size": 100, "page": page}).json()
        ids |= {row["id"] for row in body["results"]}
        if not body["next"]:
            return ids
        page += 1


def _field_value(obj, path: str) -> str:
    for part in path.split("__"):
        obj = getattr(obj, part, None)
        if obj is None:
            return ""
    return str(obj)


def _expected_search_ids(route, visible: set[int], value: str) -> set[int]:
    """What `?search=` must answer, computed in Python: every term is in one of the search fields."""
    from rest_framework.filters import search_smart_split

    fields = route.view_class.search_fields
    terms = [term.upper() for term in search_smart_split(value)]
    rows = route.view_class.queryset.model.objects.filter(pk__in=visible)
    return {
        row.pk
        for row in rows
        if all(any(term in _field_value(row, field).upper() for field in fields) for term in terms)
    }


@pytest.mark.parametrize("route", list_routes(), ids=lambda route: route.path)
def test_api7_hostile_values_in_every_filter_search_and_ordering_are_400_or_empty(world, admin_client, openapi, route):
    """Filters: 400 or an empty result. Search: 400 or exactly the rows whose fields contain every term
    (computed in Python). Ordering: 400 or the normal list. Never a 500."""
    parameters = _query_parameters(openapi, route)
    assert "page_size" in parameters
    visible = _all_ids(admin_client, route.url())
    failures = []
    for name, kind in parameters.items():
        for value in HOSTILE_VALUES:
            response = admin_client.get(route.url(), {name: value})
            outcome = f"{name}={value[:30]!r} -> {response.status_code}"
            if response.status_code not in (200, 400):
                failures.append(outcome)
                continue
            body = response.json()
            if response.status_code == 400:
                if body["type"] != "validation_error":
                    failures.append(f"{outcome} {body}")
            elif name == "search":
                found = _all_ids(admin_client, route.url(), {name: value})
                expected = _expected_search_ids(route, visible, value)
                if found != expected:
                    failures.append(f"{outcome} found {sorted(found)}, expected {sorted(expected)}")
            elif name == "ordering":
                if body["count"] != len(visible):
                    failures.append(f"{outcome} changed the rows")
            elif _legitimate(name, kind, value):
                assert len(body["results"]) <= 100
            elif body["count"] != 0:
                failures.append(f"{outcome} matched {body['count']} rows")
    assert not failures, "\n".join(failures)


def test_api7_the_world_has_rows_for_the_injection_test_to_find(world, admin_client):
    """Guard for the test above: an empty table would make every 'empty result' vacuous."""
    populated = [route.path for route in list_routes() if admin_client.get(route.url()).json()["count"] > 0]
    assert len(populated) >= len(list_routes()) - 3


DETAIL_IDS = [
    "%00",
    "0",
    "-1",
    "1.5",
    "9" * 25,
    "1%20OR%201=1",
    "%27%20OR%20%271%27=%271",
    "%F0%9F%98%80",
    "1e3",
    "abc",
]


@pytest.mark.parametrize(
    "route", [r for r in api_routes() if r.parameters == ["id"] and "get" in r.actions], ids=lambda route: route.path
)
def test_api7_hostile_ids_in_the_path_are_404(world, admin_client, route):
    for value in DETAIL_IDS:
        response = admin_client.get(route.path.replace("{id}", value).rstrip("/"))
        assert response.status_code == 404, (value, response.status_code, response.content[:200])
        assert error(response)["code"] == "not_found"


def test_api7_sql_metacharacters_in_bodies_are_stored_verbatim(admin_client):
    name = "Robert'); DROP TABLE hospitals_hospital;--"
    city = "' OR 1=1 --"
    response = admin_client.post("/api/v1/hospitals", {"name": name, "registration_number": "R-'\"", "city": city})
    assert response.status_code == 201, response.content
    fetched = admin_client.get(f"/api/v1/hospitals/{response.json()['id']}").json()
    assert (fetched["name"], fetched["city"], fetched["registration_number"]) == (name, city, "R-'\"")
    assert admin_client.get("/api/v1/hospitals", {"city": city}).json()["count"] == 1
    assert admin_client.get("/api/v1/hospitals", {"search": "DROP TABLE"}).json()["count"] == 1
    assert Hospital.objects.count() >= 1


def test_api7_nul_bytes_in_bodies_are_400_naming_the_field(api, patient_client):
    response = api.post("/auth/register", {"username": "a\x00b", "fullname": "A", "email": "a@x.org", "password": "x"})
    assert response.status_code == 400 and "username" in attrs(response)
    response = patient_client.post(
        "/api/v1/emergencies", {"contact_number": "+1 555 0100", "emergency_type": "other", "address": "x\x00y"}
    )
    assert response.status_code == 400 and attrs(response) == {"address"}


def test_api7_no_url_given_to_the_api_is_ever_fetched(world, api, admin_client, monkeypatch):
    """SSRF: fields that could carry a URL are stored as text; the server never resolves or connects."""
    lookups = []

    def refuse(*args, **kwargs):
        lookups.append(args[:2])
        raise OSError("outbound network access in a request")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    target = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    assert (
        api.post(
            "/api/v1/emergencies",
            {"contact_number": "+1 555 0100", "emergency_type": "other", "address": target, "description": target},
        ).status_code
        == 201
    )
    assert (
        admin_client.post(
            "/api/v1/hospitals", {"name": target, "registration_number": "R-SSRF", "address": target}
        ).status_code
        == 201
    )
    assert (
        admin_client.post(
            "/api/v1/blood-banks", {"name": target, "license_number": "B-SSRF", "address": target}
        ).status_code
        == 201
    )
    assert admin_client.get("/api/v1/hospitals", {"near": target}).status_code == 400
    assert lookups == []


# =====================================================================================================
# API8 — Security misconfiguration
# =====================================================================================================

SETTINGS_PROBE = """
import json, os, sys
import environ
environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)  # a developer's .env must not leak in
os.environ["DJANGO_SETTINGS_MODULE"] = "hms.settings"
from django.conf import settings
names = sys.argv[1:]
print(json.dumps({name: getattr(settings, name, None) for name in names}, default=str))
"""
PROBED = [
    "DEBUG",
    "TESTING",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_PROXY_SSL_HEADER",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ALLOW_CREDENTIALS",
    "ALLOWED_HOSTS",
    "METRICS_ENABLED",
    "PASSWORD_HASHERS",
]
PRODUCTION_SECRET = "prod-" + "k9Xq2vLr7TzW4mNp8sYb3cHd6fGj1aEu5oKi0wRt" * 2


def _clean_environment(**values) -> dict:
    """The process environment without any HMS/Django setting, plus `values`."""
    keep = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    return {**keep, "PYTHONPATH": str(BASE_DIR), **values}


def _production_environment() -> dict:
    """The documented production values (.env.example), with a real secret."""
    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            if value:
                values[key.strip()] = value.strip()
    values["SECRET_KEY"] = PRODUCTION_SECRET
    return _clean_environment(**values)


def _probe(env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE, *PROBED], env=env, cwd=BASE_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_api8_defaults_are_production_safe():
    """With only a secret and a database set, DEBUG is off and every security flag is on."""
    probed = _probe(_clean_environment(SECRET_KEY=PRODUCTION_SECRET, DATABASE_URL="postgresql://u:p@127.0.0.1:1/x"))
    assert probed["DEBUG"] is False and probed["TESTING"] is False
    assert probed["SECURE_SSL_REDIRECT"] is True and probed["SECURE_HSTS_SECONDS"] >= 31536000
    assert probed["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert probed["SECURE_CONTENT_TYPE_NOSNIFF"] is True and probed["X_FRAME_OPTIONS"] == "DENY"
    assert probed["SECURE_REFERRER_POLICY"] == "same-origin"
    assert probed["SESSION_COOKIE_SECURE"] is True and probed["CSRF_COOKIE_SECURE"] is True
    assert probed["SESSION_COOKIE_HTTPONLY"] is True
    # No proxy trusted by default: X-Forwarded-Proto from a client must not count as https.
    assert probed["SECURE_PROXY_SSL_HEADER"] is None
    assert probed["CORS_ALLOWED_ORIGINS"] == [] and not probed["CORS_ALLOW_ALL_ORIGINS"]
    assert not probed["CORS_ALLOW_CREDENTIALS"]
    assert "*" not in probed["ALLOWED_HOSTS"] and probed["METRICS_ENABLED"] is False
    assert "BCryptSHA256" in probed["PASSWORD_HASHERS"][0]


def test_api8_no_secret_key_and_debug_off_refuses_to_start():
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE, "DEBUG"],
        env=_clean_environment(DATABASE_URL="postgresql://u:p@127.0.0.1:1/x"),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_api8_production_environment_trusts_its_proxy_for_https_and_its_origins_only():
    probed = _probe(_production_environment())
    assert probed["DEBUG"] is False and probed["SECURE_SSL_REDIRECT"] is True
    assert probed["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert probed["CORS_ALLOWED_ORIGINS"] == ["https://app.example.org"]


def test_api8_check_deploy_is_clean_with_the_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_environment(),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_api8_check_deploy_is_clean_with_defaults_only():
    env = _clean_environment(
        SECRET_KEY=PRODUCTION_SECRET, DATABASE_URL="postgresql://u:p@127.0.0.1:1/x", ALLOWED_HOSTS="hms.example.org"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("get", "/api/v1/hospitals", 200),
        ("get", "/health", 200),
        ("get", "/auth/profile", 401),
        ("get", "/api/v1/users", 401),
        ("get", "/no/such/path", 404),
        ("delete", "/api/v1/slots", 405),
        ("post", "/auth/login", 400),
        ("get", "/api/schema", 200),
    ],
)
def test_api8_security_headers_on_every_answer(api, method, path, expected):
    response = getattr(api, method)(path)
    assert response.status_code == expected
    for header, value in SECURITY_HEADERS.items():
        assert response.get(header) == value, header
    assert response["X-Request-ID"]


@pytest.mark.parametrize("incoming", ["abc<script>", "x" * 65, "a b", "id;rm -rf", "ü-1"])
def test_api8_hostile_request_ids_are_replaced_not_echoed(api, incoming):
    response = api.get("/health", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming and re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert api.get("/health", HTTP_X_REQUEST_ID="trace-42.a:b_c")["X-Request-ID"] == "trace-42.a:b_c"


def test_api8_production_redirects_http_to_https_and_sends_hsts(api, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    plain = api.get("/api/v1/hospitals?city=Pune")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/api/v1/hospitals?city=Pune"
    secure = api.get("/api/v1/hospitals", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    # Load balancers probe plain http.
    assert api.get("/health").status_code == 200 and api.get("/health/ready").status_code == 200


def test_api8_forwarded_proto_is_trusted_only_from_a_configured_proxy(api, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None
    assert api.get("/api/v1/hospitals", HTTP_X_FORWARDED_PROTO="https").status_code == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert api.get("/api/v1/hospitals", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_api8_cors_answers_only_configured_origins(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.org"]
    allowed = api.get("/api/v1/hospitals", HTTP_ORIGIN="https://app.example.org")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "Access-Control-Allow-Credentials" not in allowed
    for origin in ("https://evil.example", "null", "https://app.example.org.evil.example", "http://app.example.org"):
        response = api.get("/api/v1/hospitals", HTTP_ORIGIN=origin)
        assert "Access-Control-Allow-Origin" not in response, origin
    preflight = api.options(
        "/api/v1/appointments",
        HTTP_ORIGIN="https://app.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    hostile = api.options(
        "/api/v1/appointments", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in hostile


def test_api8_unhandled_errors_answer_500_without_stack_trace_or_exception_text(monkeypatch):
    from django.contrib.admin import sites

    import hospitals.views

    secret = "secret-internal-detail-42"

    def explode(*args, **kwargs):
        raise RuntimeError(secret)

    # The list itself raises (its plain page no longer goes through get_queryset).
    monkeypatch.setattr(hospitals.views.HospitalViewSet, "list", explode)
    monkeypatch.setattr(sites.AdminSite, "each_context", explode)
    client = APIClient(raise_request_exception=False)
    for path in ("/api/v1/hospitals", "/admin/login/"):
        response = client.get(path)
        assert response.status_code == 500
        assert response["Content-Type"] == "application/json"
        assert error(response)["code"] == "error"
        text = response.content.decode()
        for leak in (secret, "Traceback", "RuntimeError", "hospitals/", ".py"):
            assert leak not in text


def test_api8_unknown_host_is_refused_without_leaking_the_allowed_hosts(api):
    response = api.get("/api/v1/hospitals", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "localhost" not in response.content.decode() and "ALLOWED_HOSTS" not in response.content.decode()


def test_api8_debug_pages_are_off(api):
    assert settings.DEBUG is False
    response = api.get("/no/such/page")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert b"URLconf" not in response.content and b"Django" not in response.content


def test_api8_docs_load_no_third_party_assets(api):
    for path in ("/api/docs", "/api/redoc"):
        page = api.get(path).content.decode()
        assert not re.search(r"https?://(?!testserver)[^\"' ]+\.(js|css)", page), path
        assert "cdn" not in page.lower()


def test_api8_metrics_are_not_exposed_when_disabled(api, admin_client):
    assert settings.METRICS_ENABLED is False
    assert api.get("/metrics").status_code == 404
    assert admin_client.get("/metrics").status_code == 404


def test_api8_trace_and_unknown_methods_are_405(api):
    assert api.generic("TRACE", "/api/v1/hospitals").status_code == 405
    assert api.generic("PROPFIND", "/api/v1/hospitals").status_code == 405


# =====================================================================================================
# API9 — Improper inventory management
# =====================================================================================================

KNOWN_SURFACES = (
    "/api/v1/",
    "/auth/",
    "/health/",
    "/hospital/",
    "/appointment/",
    "/bloodbank/",
)


def test_api9_every_route_is_documented_and_every_documented_path_resolves(openapi):
    documented = {
        path: {m for m in ops if m in ("get", "post", "put", "patch", "delete")}
        for path, ops in openapi["paths"].items()
    }
    routed = {}
    for route in api_routes():
        routed.setdefault(route.path, set()).update(route.actions)
    assert sorted(set(routed) - set(documented)) == [], "routes missing from /api/schema"
    assert sorted(set(documented) - set(routed)) == [], "documented paths without a route"
    mismatched = {
        path: (sorted(routed[path]), sorted(documented[path])) for path in routed if routed[path] != documented[path]
    }
    assert mismatched == {}


def test_api9_every_route_lives_under_a_known_surface():
    stray = [route.path for route in api_routes() if not route.path.startswith(KNOWN_SURFACES)]
    assert stray == []


def test_api9_served_schema_matches_the_generated_one(api, openapi):
    served = api.get("/api/schema?format=json")
    assert served.status_code == 200 and served["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert set(served.json()["paths"]) == set(openapi["paths"])


def test_api9_every_documented_operation_is_answered_by_its_route(world, openapi):
    """No documented operation is a dead end: each is routed (never 405) and never a 5xx."""
    admin = world.admin
    dead = []
    for path, operations in openapi["paths"].items():
        for method in operations:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            client = client_for(admin)
            response = getattr(client, method)(path.replace("{id}", str(MISSING_ID)).rstrip("/"), {}, format="json")
            if response.status_code in (405, 500, 501, 503):
                dead.append(f"{method.upper()} {path} -> {response.status_code}")
    assert dead == []


def test_api9_search_is_documented_exactly_where_a_view_searches(openapi):
    for route in list_routes():
        documented = "search" in _query_parameters(openapi, route)
        assert documented == bool(getattr(route.view_class, "search_fields", None)), route.path


def test_api9_seed_aliases_are_marked_deprecated_and_canonical_routes_are_not(openapi):
    for path, operations in openapi["paths"].items():
        deprecated = {
            op.get("deprecated", False)
            for m, op in operations.items()
            if m in ("get", "post", "put", "patch", "delete")
        }
        assert deprecated == {path.startswith(("/hospital/", "/appointment/", "/bloodbank/"))}, path


# =====================================================================================================
# API10 — Unsafe consumption of APIs (see the module docstring: no third-party API is consumed)
# =====================================================================================================

HTTP_CLIENTS = {"requests", "httpx", "urllib3", "aiohttp", "pycurl", "urllib.request", "http.client", "socket"}
APPS = ("accounts", "hospitals", "appointments", "bloodbank", "emergency", "dashboard", "hms")


def test_api10_no_application_module_imports_an_http_client():
    import ast

    offenders = []
    for app in APPS:
        for path in (BASE_DIR / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                offenders += [f"{path.relative_to(BASE_DIR)}: {name}" for name in names if name in HTTP_CLIENTS]
    assert offenders == []


HOSTILE_NAME = "<script>alert('x')</script><img src=x onerror=alert(1)> {{7*7}} ${7*7} <%= 7*7 %>"


def test_api10_html_in_names_is_echoed_verbatim_as_inert_json(api):
    body = {"username": "htmlname", "fullname": HOSTILE_NAME, "email": "html@x.org", "password": "Str0ng-Pass-99"}
    response = api.post("/auth/register", body)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json" and response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["user"]["fullname"] == HOSTILE_NAME
    assert json.dumps(HOSTILE_NAME)[1:-1].encode() in response.content
    profile = _bearer(response.json()["access"]).get(PROFILE)
    assert profile.json()["fullname"] == HOSTILE_NAME


def test_api10_template_syntax_in_free_text_is_never_evaluated(api):
    report = {
        "contact_number": "+1 555 0100",
        "emergency_type": "other",
        "address": HOSTILE_NAME,
        "description": HOSTILE_NAME,
    }
    response = api.post("/api/v1/emergencies", report)
    assert response.status_code == 201
    assert response.json()["description"] == HOSTILE_NAME and response.json()["address"] == HOSTILE_NAME
    assert Emergency.objects.get(pk=response.json()["id"]).description == HOSTILE_NAME


def test_api10_the_admin_site_escapes_echoed_names(api, admin_user):
    user = UserFactory(fullname=HOSTILE_NAME)
    api.force_login(admin_user)
    for path in ("/admin/accounts/user/", f"/admin/accounts/user/{user.pk}/change/"):
        page = api.get(path).content.decode()
        assert "<script>alert('x')</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
