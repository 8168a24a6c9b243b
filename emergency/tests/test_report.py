"""POST /api/v1/emergencies: open reporting, validation, nearest hospital, throttle."""

import pytest

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory
from emergency.models import Emergency
from emergency.throttling import EmergencyReportThrottle

pytestmark = pytest.mark.django_db

URL = "/api/v1/emergencies"
REPORT = {"contact_number": "+91 98765 43210", "emergency_type": "cardiac", "latitude": 18.53, "longitude": 73.86}


def attrs(response):
    return {error["attr"] for error in response.json()["errors"]}


def test_anonymous_report_is_201_with_reporter_null_and_nearest_hospital(api, hospital):
    response = api.post(URL, {**REPORT, "patient_name": "Ravi", "severity": "critical", "description": "Collapsed"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["reporter_id"] is None
    assert data["hospital_id"] == hospital.pk and data["hospital"]["name"] == hospital.name
    assert data["status"] == "reported" and data["ambulance_id"] is None and data["ambulance"] is None
    assert data["severity"] == "critical" and data["patient_name"] == "Ravi"
    assert [(event["status"], event["actor_id"], event["to_hospital_id"]) for event in data["events"]] == [
        ("reported", None, hospital.pk)
    ]
    emergency = Emergency.objects.get(pk=data["id"])
    assert emergency.reporter_id is None and emergency.hospital_id == hospital.pk
    entry = Activity.objects.get(action="create", object_type="emergency", object_id=str(emergency.pk))
    assert entry.actor_id is None and entry.ip == "127.0.0.1"


def test_anonymous_reporter_cannot_read_its_report_later(api, patient_client, hospital):
    emergency_id = api.post(URL, REPORT).json()["id"]
    assert api.get(f"{URL}/{emergency_id}").status_code == 401
    assert api.get(URL).status_code == 401
    assert patient_client.get(f"{URL}/{emergency_id}").status_code == 404


def test_signed_in_reporter_is_recorded_and_sees_its_report(patient_client, patient, hospital):
    response = patient_client.post(URL + "/", REPORT)
    assert response.status_code == 201
    assert response.json()["reporter_id"] == patient.pk
    assert response.json()["events"][0]["actor_id"] == patient.pk
    assert patient_client.get(f"{URL}/{response.json()['id']}").status_code == 200
    assert [row["id"] for row in patient_client.get(URL).json()["results"]] == [response.json()["id"]]


def test_report_with_an_invalid_token_is_401_not_anonymous(api, hospital):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api.post(URL, REPORT).status_code == 401
    assert not Emergency.objects.exists()


def test_severity_defaults_to_medium(api, hospital):
    assert api.post(URL, REPORT).json()["severity"] == "medium"


@pytest.mark.parametrize(
    "change,fields",
    [
        ({"contact_number": None}, {"contact_number"}),
        ({"contact_number": ""}, {"contact_number"}),
        ({"contact_number": "call me"}, {"contact_number"}),
        ({"contact_number": "1" * 33}, {"contact_number"}),
        ({"emergency_type": None}, {"emergency_type"}),
        ({"emergency_type": "alien"}, {"emergency_type"}),
        ({"severity": "meh"}, {"severity"}),
        ({"latitude": 90.5}, {"latitude"}),
        ({"latitude": -90.5}, {"latitude"}),
        ({"longitude": 180.01}, {"longitude"}),
        ({"longitude": -200}, {"longitude"}),
        ({"latitude": "nan"}, {"latitude"}),
        ({"longitude": None}, {"longitude"}),
        ({"latitude": None}, {"latitude"}),
        ({"latitude": None, "longitude": None}, {"latitude", "longitude", "address"}),
        ({"latitude": None, "longitude": None, "address": "   "}, {"latitude", "longitude", "address"}),
        ({"address": "x" * 501}, {"address"}),
        ({"description": "x" * 2001}, {"description"}),
        ({"patient_name": "x" * 151}, {"patient_name"}),
        ({"hospital_id": 999999}, {"hospital_id"}),
        ({"hospital_id": "abc"}, {"hospital_id"}),
    ],
)
def test_bad_report_is_400_naming_the_field(api, hospital, change, fields):
    body = {key: value for key, value in {**REPORT, **change}.items() if value is not None}
    response = api.post(URL, body)
    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert attrs(response) == fields
    assert not Emergency.objects.exists()


def test_report_to_an_inactive_hospital_is_400(api):
    closed = HospitalFactory(is_active=False)
    response = api.post(URL, {**REPORT, "hospital_id": closed.pk})
    assert response.status_code == 400
    assert attrs(response) == {"hospital_id"}


def test_not_json_is_415(api, hospital):
    response = api.post(URL, "contact_number=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


# --- hospital assignment ---------------------------------------------------------------------


def test_coordinates_pick_the_nearest_active_hospital_with_emergency_services(api):
    # The report is at Pune station (18.528, 73.874).
    far = HospitalFactory(latitude=18.60, longitude=73.75)  # ~15 km
    near = HospitalFactory(latitude=18.53, longitude=73.88)  # ~0.7 km
    HospitalFactory(latitude=18.529, longitude=73.875, emergency_services=False)  # nearer, no emergency services
    HospitalFactory(latitude=18.528, longitude=73.874, is_active=False)  # nearest, inactive
    response = api.post(URL, {**REPORT, "latitude": 18.528, "longitude": 73.874})
    assert response.status_code == 201
    assert response.json()["hospital_id"] == near.pk != far.pk


def test_explicit_hospital_id_wins_over_the_nearest(api, hospital):
    chosen = HospitalFactory(latitude=19.07, longitude=72.87)
    response = api.post(URL, {**REPORT, "hospital_id": chosen.pk})
    assert response.status_code == 201 and response.json()["hospital_id"] == chosen.pk


def test_the_nearest_hospital_is_assigned_however_far(api):
    delhi = HospitalFactory(latitude=28.61, longitude=77.21)  # ~1,170 km from Pune
    HospitalFactory(latitude=-33.9, longitude=18.4)  # Cape Town, farther still
    response = api.post(URL, REPORT)
    assert response.status_code == 201 and response.json()["hospital_id"] == delhi.pk


def test_no_hospital_with_emergency_services_leaves_hospital_null(api):
    HospitalFactory(latitude=18.52, longitude=73.85, emergency_services=False)
    response = api.post(URL, REPORT)
    assert response.status_code == 201 and response.json()["hospital_id"] is None


def test_a_hospital_up_to_500_km_away_is_still_assigned(api):
    goa = HospitalFactory(latitude=15.49, longitude=73.83)  # ~340 km from Pune
    assert api.post(URL, REPORT).json()["hospital_id"] == goa.pk


def test_address_only_report_has_no_hospital_and_only_admin_sees_it(
    api, hospital, admin_client, hospital_admin_client, doctor_client
):
    response = api.post(URL, {"contact_number": "020-2612 3456", "emergency_type": "burn", "address": "FC Road"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["hospital_id"] is None and data["latitude"] is None and data["address"] == "FC Road"
    assert admin_client.get(f"{URL}/{data['id']}").status_code == 200
    assert admin_client.get(URL, {"unassigned": "true"}).json()["count"] == 1
    for client in (hospital_admin_client, doctor_client):
        assert client.get(f"{URL}/{data['id']}").status_code == 404
        assert client.get(URL).json()["count"] == 0


# --- throttle --------------------------------------------------------------------------------


@pytest.fixture
def low_report_rate(settings, monkeypatch):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "emergency_report": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    # Belt and braces: DRF binds the rates on the class at import time.
    monkeypatch.setattr(EmergencyReportThrottle, "THROTTLE_RATES", rates)


def test_anonymous_reports_are_throttled_per_client_address_429(api, hospital, low_report_rate):
    for _ in range(3):
        assert api.post(URL, REPORT).status_code == 201
    response = api.post(URL, REPORT)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["errors"][0]["code"] == "throttled"
    assert Emergency.objects.count() == 3
    # Another client address still gets through.
    assert api.post(URL, REPORT, REMOTE_ADDR="10.1.2.3").status_code == 201


def test_invalid_anonymous_reports_count_towards_the_throttle(api, hospital, low_report_rate):
    for _ in range(3):
        assert api.post(URL, {}).status_code == 400
    assert api.post(URL, REPORT).status_code == 429


def test_signed_in_reporters_are_not_blocked_by_the_anonymous_throttle(api, patient_client, hospital, low_report_rate):
    for _ in range(3):
        api.post(URL, REPORT)
    assert api.post(URL, REPORT).status_code == 429
    for _ in range(5):
        assert patient_client.post(URL, REPORT).status_code == 201


def test_x_forwarded_for_is_ignored_without_trusted_proxies(api, hospital, low_report_rate, settings):
    settings.TRUSTED_PROXIES = 0
    for index in range(3):
        api.post(URL, REPORT, HTTP_X_FORWARDED_FOR=f"203.0.113.{index}")
    assert api.post(URL, REPORT, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_throttle_keys_on_the_forwarded_address_behind_a_trusted_proxy(api, hospital, low_report_rate, settings):
    settings.TRUSTED_PROXIES = 1
    for _ in range(3):
        api.post(URL, REPORT, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert api.post(URL, REPORT, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert api.post(URL, REPORT, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 201


@pytest.mark.parametrize("contact_number", ["12", "1-2", "+", "112\n", "\t112", " +112", "112x", "(1)(2)"])
def test_report_rejects_contact_number_outside_the_documented_pattern_with_400(api, hospital, contact_number):
    response = api.post(URL, {**REPORT, "contact_number": contact_number}, format="json")
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["contact_number"]
    assert not Emergency.objects.exists()


@pytest.mark.parametrize("contact_number", ["112", "+91 98765 43210", "(020) 2612-3456", "+1.555/010.9999", "112 "])
def test_report_takes_any_contact_number_the_pattern_documents(api, hospital, contact_number):
    import re

    from hms.tests.openapi import openapi

    pattern = openapi()["components"]["schemas"]["EmergencyInRequest"]["properties"]["contact_number"]["pattern"]
    assert re.fullmatch(pattern, contact_number)
    response = api.post(URL, {**REPORT, "contact_number": contact_number}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["contact_number"] == contact_number.strip()
