"""Input fields written once in hms.api.serializers / accounts.serializers and used by several apps:
the coordinates pair, the staff account created with a doctor or a hospital."""

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from bloodbank.models import BloodBank
from bloodbank.tests.factories import BloodBankFactory
from emergency.models import Ambulance, Emergency
from emergency.tests.factories import AmbulanceFactory
from hospitals.models import Hospital

pytestmark = pytest.mark.django_db


def only_error(response):
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def create_bodies(hospital):
    return {
        "/api/v1/hospitals": {
            "name": "Sahyadri",
            "registration_number": "MH-NEW-1",
            "address": "1 Road",
            "city": "Pune",
        },
        "/api/v1/blood-banks": {
            "name": "Jan Kalyan",
            "license_number": "BB-NEW-1",
            "address": "2 Road",
            "city": "Pune",
        },
        "/api/v1/ambulances": {"hospital_id": hospital.pk, "vehicle_number": "MH-12-ZZ-1", "ambulance_type": "basic"},
        "/api/v1/emergencies": {"contact_number": "+91 98000 00000", "emergency_type": "cardiac", "address": "3 Road"},
    }


@pytest.mark.parametrize(
    "url", ["/api/v1/hospitals", "/api/v1/blood-banks", "/api/v1/ambulances", "/api/v1/emergencies"]
)
@pytest.mark.parametrize(("given", "missing"), [("latitude", "longitude"), ("longitude", "latitude")])
def test_one_coordinate_without_the_other_is_400_required_naming_the_missing_one(
    admin_client, hospital, url, given, missing
):
    models = {Hospital: Hospital.objects.count(), BloodBank: 0, Ambulance: 0, Emergency: 0}
    response = admin_client.post(url, {**create_bodies(hospital)[url], given: 18.5}, format="json")
    assert response.status_code == 400, response.content
    assert only_error(response) == {
        "code": "required",
        "detail": "Give both latitude and longitude, or neither.",
        "attr": missing,
    }
    assert {model: model.objects.count() for model in models} == models


@pytest.mark.parametrize("kind", ["hospital", "blood_bank", "ambulance"])
def test_clearing_one_stored_coordinate_is_400_and_keeps_both(admin_client, hospital, kind):
    row, url = {
        "hospital": (hospital, f"/api/v1/hospitals/{hospital.pk}"),
        "blood_bank": (bank := BloodBankFactory(hospital=hospital), f"/api/v1/blood-banks/{bank.pk}"),
        "ambulance": (
            amb := AmbulanceFactory(hospital=hospital, latitude=18.5, longitude=73.8),
            f"/api/v1/ambulances/{amb.pk}",
        ),
    }[kind]
    before = (row.latitude, row.longitude)
    response = admin_client.patch(url, {"latitude": None}, format="json")
    assert response.status_code == 400, response.content
    assert only_error(response)["code"] == "required" and only_error(response)["attr"] == "latitude"
    row.refresh_from_db()
    assert (row.latitude, row.longitude) == before


@pytest.mark.parametrize("url", ["/api/v1/hospitals", "/api/v1/blood-banks"])
def test_coordinates_out_of_range_are_400_naming_the_field(admin_client, hospital, url):
    response = admin_client.post(
        url, {**create_bodies(hospital)[url], "latitude": 91, "longitude": 73.8}, format="json"
    )
    assert response.status_code == 400
    assert only_error(response)["attr"] == "latitude"


ACCOUNT = {
    "username": "new.staff",
    "fullname": "New Staff",
    "email": "new.staff@example.org",
    "password": "Str0ng-Pass-2026",
    "phone_num": "+91 98000 00001",
}


def staff_account_request(admin_client, hospital, where, account):
    if where == "doctor":
        body = {"user": account, "hospital_id": hospital.pk, "specialization": "Cardiology", "license_number": "L-1"}
        return admin_client.post("/api/v1/doctors", body, format="json"), "user"
    body = {**create_bodies(hospital)["/api/v1/hospitals"], "admin": account}
    return admin_client.post("/api/v1/hospitals", body, format="json"), "admin"


@pytest.mark.parametrize("where", ["doctor", "hospital_admin"])
@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"username": "new staff!"}, "username", "invalid"),
        ({"password": "short"}, "password", "password_too_short"),
        ({"email": "not-an-email"}, "email", "invalid"),
        ({"fullname": "x" * 151}, "fullname", "max_length"),
    ],
)
def test_doctor_and_hospital_admin_accounts_follow_the_same_rules(admin_client, hospital, where, change, field, code):
    users, hospitals = User.objects.count(), Hospital.objects.count()
    response, prefix = staff_account_request(admin_client, hospital, where, {**ACCOUNT, **change})
    assert response.status_code == 400, response.content
    assert {(error["attr"], error["code"]) for error in response.json()["errors"]} >= {(f"{prefix}.{field}", code)}
    assert (User.objects.count(), Hospital.objects.count()) == (users, hospitals)


@pytest.mark.parametrize("where", ["doctor", "hospital_admin"])
def test_doctor_and_hospital_admin_accounts_refuse_a_taken_username_in_any_case(admin_client, hospital, where):
    UserFactory(username="new.staff")
    users = User.objects.count()
    response, prefix = staff_account_request(admin_client, hospital, where, {**ACCOUNT, "username": "NEW.STAFF"})
    assert response.status_code in (400, 409), response.content
    assert any(
        error["attr"] == f"{prefix}.username" and error["code"] == "unique" for error in response.json()["errors"]
    )
    assert User.objects.count() == users
