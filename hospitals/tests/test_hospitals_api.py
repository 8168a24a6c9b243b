"""Hospitals over HTTP: CRUD with the optional admin account, visibility, deactivation, bed summary."""

import pytest

from accounts.models import Activity, User
from hospitals.models import BedStatus, Hospital, WardType
from hospitals.tests.factories import BedFactory, HospitalFactory, WardFactory

pytestmark = pytest.mark.django_db

HOSPITAL_KEYS = {
    "id",
    "name",
    "registration_number",
    "hospital_type",
    "address",
    "city",
    "state",
    "country",
    "postal_code",
    "phone",
    "email",
    "latitude",
    "longitude",
    "timezone",
    "is_multi_level",
    "opd_status",
    "emergency_services",
    "is_active",
    "created_at",
    "updated_at",
}


def hospital_body(**overrides):
    body = {
        "name": "Ruby Hall Clinic",
        "registration_number": "MH-PUNE-0001",
        "hospital_type": "private",
        "address": "40 Sassoon Road",
        "city": "Pune",
        "state": "Maharashtra",
        "country": "India",
        "postal_code": "411001",
        "phone": "+91-20-26163391",
        "email": "info@rubyhall.example",
        "latitude": 18.5314,
        "longitude": 73.8776,
        "timezone": "Asia/Kolkata",
        "emergency_services": True,
    }
    body.update(overrides)
    return body


def admin_body(**overrides):
    body = {
        "username": "ruby.admin",
        "fullname": "Ruby Admin",
        "email": "admin@rubyhall.example",
        "password": "Very-Strong-Pass-77",
        "phone_num": "9800000000",
    }
    body.update(overrides)
    return body


def error(response):
    return response.json()["errors"][0]


# --- create -----------------------------------------------------------------------------------


def test_admin_creates_hospital_with_all_contract_fields(admin_client):
    response = admin_client.post("/api/v1/hospitals", hospital_body(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) >= HOSPITAL_KEYS
    assert data["is_multi_level"] is True and data["opd_status"] == "open" and data["is_active"] is True
    assert data["timezone"] == "Asia/Kolkata"
    assert data["admin"] is None
    assert data["bed_summary"]["total"] == 0
    hospital = Hospital.objects.get(pk=data["id"])
    assert hospital.registration_number == "MH-PUNE-0001"
    assert Activity.objects.filter(action="create", object_type="hospital", object_id=str(hospital.pk)).exists()


def test_timezone_defaults_to_server_time_zone(admin_client, settings):
    body = hospital_body()
    del body["timezone"]
    response = admin_client.post("/api/v1/hospitals/", body, format="json")
    assert response.status_code == 201
    assert response.json()["timezone"] == settings.TIME_ZONE


def test_create_with_admin_creates_hospital_admin_in_same_transaction(admin_client, api):
    response = admin_client.post("/api/v1/hospitals", {**hospital_body(), "admin": admin_body()}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    user = User.objects.get(username="ruby.admin")
    assert user.role == User.Role.HOSPITAL_ADMIN and user.hospital_id == data["id"]
    assert data["admin"]["id"] == user.pk and data["admin"]["hospital_id"] == data["id"]
    assert "password" not in data["admin"]
    login = api.post("/auth/hospital/login", {"username": "ruby.admin", "password": "Very-Strong-Pass-77"})
    assert login.status_code == 200
    assert login.json()["user"]["hospital_id"] == data["id"]


def test_null_admin_creates_no_account(admin_client):
    response = admin_client.post("/api/v1/hospitals", {**hospital_body(), "admin": None}, format="json")
    assert response.status_code == 201
    assert response.json()["admin"] is None
    assert not User.objects.filter(role=User.Role.HOSPITAL_ADMIN).exists()


def test_bad_admin_body_is_400_and_creates_no_hospital(admin_client):
    response = admin_client.post(
        "/api/v1/hospitals", {**hospital_body(), "admin": admin_body(password="123", email="nope")}, format="json"
    )
    assert response.status_code == 400
    attrs = {e["attr"] for e in response.json()["errors"]}
    assert "admin.email" in attrs
    assert not Hospital.objects.filter(registration_number="MH-PUNE-0001").exists()
    assert not User.objects.filter(username="ruby.admin").exists()


def test_weak_admin_password_is_400_naming_nested_field(admin_client):
    response = admin_client.post(
        "/api/v1/hospitals", {**hospital_body(), "admin": admin_body(password="12345678")}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["attr"] == "admin.password"
    assert not Hospital.objects.exists()


def test_admin_username_taken_is_409_and_creates_no_hospital(admin_client, patient):
    response = admin_client.post(
        "/api/v1/hospitals", {**hospital_body(), "admin": admin_body(username=patient.username.upper())}, format="json"
    )
    assert response.status_code == 409 and error(response)["code"] == "unique"
    assert not Hospital.objects.filter(registration_number="MH-PUNE-0001").exists()


def test_duplicate_registration_number_is_409(admin_client, hospital):
    response = admin_client.post(
        "/api/v1/hospitals", hospital_body(registration_number=hospital.registration_number), format="json"
    )
    assert response.status_code == 409 and error(response)["code"] == "unique"
    assert error(response)["attr"] == "registration_number"
    assert Hospital.objects.filter(registration_number=hospital.registration_number).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hospital_type", "military"),
        ("opd_status", "sometimes"),
        ("timezone", "Mars/Olympus_Mons"),
        ("latitude", 91),
        ("longitude", -181),
        ("latitude", "nan"),
        ("name", "x" * 201),
        ("email", "not-an-email"),
        ("name", ""),
    ],
)
def test_invalid_hospital_field_is_400_naming_it(admin_client, field, value):
    response = admin_client.post("/api/v1/hospitals", hospital_body(**{field: value}), format="json")
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == field
    assert not Hospital.objects.exists()


def test_latitude_without_longitude_is_400(admin_client):
    body = hospital_body()
    del body["longitude"]
    response = admin_client.post("/api/v1/hospitals", body, format="json")
    assert response.status_code == 400
    assert error(response)["attr"] == "longitude"


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client", "patient_client", "driver_client"])
def test_only_admin_creates_hospitals(request, client_name):
    client = request.getfixturevalue(client_name)
    response = client.post("/api/v1/hospitals", hospital_body(), format="json")
    assert response.status_code == 403
    assert not Hospital.objects.filter(registration_number="MH-PUNE-0001").exists()


def test_anonymous_create_is_401(api):
    response = api.post("/api/v1/hospitals", hospital_body(), format="json")
    assert response.status_code == 401
    assert not Hospital.objects.exists()


# --- read -------------------------------------------------------------------------------------


def test_public_list_shows_active_hospitals_only(api):
    active = HospitalFactory()
    HospitalFactory(is_active=False)
    response = api.get("/api/v1/hospitals")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert [h["id"] for h in data["results"]] == [active.pk]
    assert data["results"][0]["distance_km"] is None


def test_public_detail_of_inactive_hospital_is_404(api, patient_client):
    gone = HospitalFactory(is_active=False)
    assert api.get(f"/api/v1/hospitals/{gone.pk}").status_code == 404
    assert patient_client.get(f"/api/v1/hospitals/{gone.pk}/").status_code == 404


def test_admin_sees_inactive_hospital_in_detail_and_with_is_active_filter(admin_client):
    active = HospitalFactory()
    gone = HospitalFactory(is_active=False)
    assert admin_client.get(f"/api/v1/hospitals/{gone.pk}").json()["is_active"] is False
    default = admin_client.get("/api/v1/hospitals").json()["results"]
    assert [h["id"] for h in default] == [active.pk]
    inactive = admin_client.get("/api/v1/hospitals?is_active=false").json()["results"]
    assert [h["id"] for h in inactive] == [gone.pk]


def test_unknown_or_malformed_hospital_id_is_404(api):
    assert api.get("/api/v1/hospitals/999999").status_code == 404
    assert api.get("/api/v1/hospitals/abc").status_code == 404
    assert api.get("/api/v1/hospitals/99999999999999999999999").status_code == 404


def test_detail_carries_bed_summary_in_pinned_shape(api, hospital):
    icu = WardFactory(hospital=hospital, ward_type=WardType.ICU)
    general = WardFactory(hospital=hospital, ward_type=WardType.GENERAL)
    BedFactory.create_batch(2, ward=icu)
    BedFactory(ward=icu, status=BedStatus.MAINTENANCE)
    BedFactory(ward=general, status=BedStatus.CLEANING)
    BedFactory(ward=WardFactory())  # another hospital's bed is not counted
    summary = api.get(f"/api/v1/hospitals/{hospital.pk}").json()["bed_summary"]
    assert set(summary) == {"hospital_id", "as_of", "total", "by_status", "by_ward_type", "by_bed_type"}
    assert summary["hospital_id"] == hospital.pk and summary["total"] == 4
    assert summary["by_status"] == {"available": 2, "occupied": 0, "reserved": 0, "cleaning": 1, "maintenance": 1}
    assert summary["by_ward_type"]["icu"] == {
        "total": 3,
        "available": 2,
        "occupied": 0,
        "reserved": 0,
        "cleaning": 0,
        "maintenance": 1,
    }
    assert summary["by_ward_type"]["general"]["total"] == 1
    assert summary["by_ward_type"]["nicu"]["total"] == 0


def test_list_does_not_carry_bed_summary(api, hospital):
    assert "bed_summary" not in api.get("/api/v1/hospitals").json()["results"][0]


# --- update and deactivate --------------------------------------------------------------------


def test_hospital_admin_updates_own_hospital(hospital_admin_client, hospital):
    response = hospital_admin_client.patch(
        f"/api/v1/hospitals/{hospital.pk}", {"opd_status": "limited", "phone": "020-1234"}, format="json"
    )
    assert response.status_code == 200, response.content
    hospital.refresh_from_db()
    assert hospital.opd_status == "limited" and hospital.phone == "020-1234"
    assert "bed_summary" in response.json()
    assert Activity.objects.filter(action="update", object_type="hospital", object_id=str(hospital.pk)).exists()


def test_hospital_admin_cannot_update_another_hospital(hospital_admin_client, other_hospital):
    response = hospital_admin_client.patch(
        f"/api/v1/hospitals/{other_hospital.pk}", {"name": "Taken over"}, format="json"
    )
    assert response.status_code == 403
    other_hospital.refresh_from_db()
    assert other_hospital.name != "Taken over"


def test_hospital_admin_cannot_deactivate_own_hospital_by_patch(hospital_admin_client, hospital):
    response = hospital_admin_client.patch(f"/api/v1/hospitals/{hospital.pk}", {"is_active": False}, format="json")
    assert response.status_code == 403
    hospital.refresh_from_db()
    assert hospital.is_active is True


@pytest.mark.parametrize("client_name", ["doctor_client", "patient_client", "driver_client"])
def test_non_managers_cannot_update_hospital(request, client_name, hospital):
    client = request.getfixturevalue(client_name)
    response = client.patch(f"/api/v1/hospitals/{hospital.pk}", {"name": "Changed"}, format="json")
    assert response.status_code == 403
    hospital.refresh_from_db()
    assert hospital.name != "Changed"


def test_admin_put_replaces_fields(admin_client, hospital):
    response = admin_client.put(
        f"/api/v1/hospitals/{hospital.pk}",
        hospital_body(registration_number=hospital.registration_number, name="Renamed"),
        format="json",
    )
    assert response.status_code == 200, response.content
    hospital.refresh_from_db()
    assert hospital.name == "Renamed" and hospital.city == "Pune"


def test_put_without_required_fields_is_400(admin_client, hospital):
    response = admin_client.put(f"/api/v1/hospitals/{hospital.pk}", {"name": "Only name"}, format="json")
    assert response.status_code == 400
    assert error(response)["attr"] == "registration_number"


def test_changing_registration_number_to_a_taken_one_is_409(admin_client, hospital, other_hospital):
    response = admin_client.patch(
        f"/api/v1/hospitals/{hospital.pk}", {"registration_number": other_hospital.registration_number}, format="json"
    )
    assert response.status_code == 409 and error(response)["code"] == "unique"
    hospital.refresh_from_db()
    assert hospital.registration_number != other_hospital.registration_number


def test_admin_delete_deactivates_and_keeps_data(admin_client, api, hospital):
    response = admin_client.delete(f"/api/v1/hospitals/{hospital.pk}")
    assert response.status_code == 204
    hospital.refresh_from_db()
    assert hospital.is_active is False
    assert api.get(f"/api/v1/hospitals/{hospital.pk}").status_code == 404
    assert hospital.pk not in [h["id"] for h in api.get("/api/v1/hospitals").json()["results"]]
    assert Activity.objects.filter(action="delete", object_type="hospital", object_id=str(hospital.pk)).exists()


def test_admin_reactivates_hospital(admin_client, api):
    gone = HospitalFactory(is_active=False)
    response = admin_client.patch(f"/api/v1/hospitals/{gone.pk}", {"is_active": True}, format="json")
    assert response.status_code == 200
    assert api.get(f"/api/v1/hospitals/{gone.pk}").status_code == 200


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client", "patient_client"])
def test_only_admin_deactivates(request, client_name, hospital):
    response = request.getfixturevalue(client_name).delete(f"/api/v1/hospitals/{hospital.pk}")
    assert response.status_code == 403
    hospital.refresh_from_db()
    assert hospital.is_active is True


def test_anonymous_update_is_401(api, hospital):
    assert api.patch(f"/api/v1/hospitals/{hospital.pk}", {"name": "x"}, format="json").status_code == 401


def test_switching_to_single_level_with_floors_is_409(admin_client, hospital):
    WardFactory(hospital=hospital)
    response = admin_client.patch(f"/api/v1/hospitals/{hospital.pk}", {"is_multi_level": False}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "hospital_has_floors"
    hospital.refresh_from_db()
    assert hospital.is_multi_level is True


def test_switching_to_multi_level_with_floorless_wards_is_409(admin_client):
    single = HospitalFactory(is_multi_level=False)
    WardFactory(hospital=single)
    response = admin_client.patch(f"/api/v1/hospitals/{single.pk}", {"is_multi_level": True}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "wards_without_floor"
    single.refresh_from_db()
    assert single.is_multi_level is False


def test_switching_level_of_empty_hospital_is_allowed(admin_client, hospital):
    response = admin_client.patch(f"/api/v1/hospitals/{hospital.pk}", {"is_multi_level": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_multi_level"] is False


# --- availability -----------------------------------------------------------------------------


def test_availability_is_public_and_counts_current_rows(api, hospital, django_assert_max_num_queries):
    ward = WardFactory(hospital=hospital, ward_type=WardType.MATERNITY)
    beds = BedFactory.create_batch(3, ward=ward)
    with django_assert_max_num_queries(2):
        first = api.get(f"/api/v1/hospitals/{hospital.pk}/availability")
    assert first.status_code == 200
    assert first.json()["by_ward_type"]["maternity"]["available"] == 3
    beds[0].status = BedStatus.MAINTENANCE
    beds[0].save()
    second = api.get(f"/api/v1/hospitals/{hospital.pk}/availability/").json()
    assert second["by_status"]["available"] == 2 and second["by_status"]["maintenance"] == 1
    assert second["total"] == 3 and second["hospital_id"] == hospital.pk and second["as_of"]


def test_availability_query_count_does_not_grow_with_beds(api, hospital, django_assert_max_num_queries):
    for ward_type in WardType.values:
        ward = WardFactory(hospital=hospital, ward_type=ward_type)
        for status in BedStatus.values:
            BedFactory.create_batch(2, ward=ward, status=status)
    with django_assert_max_num_queries(2):
        response = api.get(f"/api/v1/hospitals/{hospital.pk}/availability")
    assert response.json()["total"] == 2 * len(WardType.values) * len(BedStatus.values)


def test_availability_of_inactive_or_unknown_hospital_is_404(api):
    gone = HospitalFactory(is_active=False)
    assert api.get(f"/api/v1/hospitals/{gone.pk}/availability").status_code == 404
    assert api.get("/api/v1/hospitals/424242/availability").status_code == 404


def test_hospital_timezone_is_documented_as_the_names_the_server_accepts(admin_client):
    import zoneinfo

    from hms.tests.openapi import openapi

    documented = openapi()["components"]["schemas"]["TimeZone"]["enum"]
    assert set(documented) == zoneinfo.available_timezones()
    for index, name in enumerate(["Pacific/Chatham", "UTC", documented[0], documented[-1]]):
        body = hospital_body(registration_number=f"TZ-{index}", timezone=name)
        response = admin_client.post("/api/v1/hospitals", body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["timezone"] == name
