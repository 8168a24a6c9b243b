"""Seed-compatible hospital routes (API.md section 11): the canonical views, same rules and answers."""

import pytest

from accounts.models import User
from hospitals.models import Floor, Hospital
from hospitals.tests.factories import FloorFactory, HospitalFactory

pytestmark = pytest.mark.django_db

BODY = {
    "name": "KEM Hospital",
    "registration_number": "MH-MUM-0042",
    "hospital_type": "government",
    "city": "Mumbai",
    "latitude": 19.0025,
    "longitude": 72.8416,
    "timezone": "Asia/Kolkata",
}


@pytest.mark.parametrize("slash", ["", "/"])
def test_register_creates_hospital_with_its_admin(admin_client, slash):
    admin = {"username": "kem.admin", "fullname": "KEM Admin", "email": "kem@example.org", "password": "Kem-Pass-2026!"}
    response = admin_client.post(f"/hospital/register{slash}", {**BODY, "admin": admin}, format="json")
    assert response.status_code == 201, response.content
    hospital = Hospital.objects.get(registration_number="MH-MUM-0042")
    assert response.json()["id"] == hospital.pk
    assert User.objects.get(username="kem.admin").hospital_id == hospital.pk


def test_register_keeps_the_canonical_rules(hospital_admin_client, admin_client, hospital):
    assert hospital_admin_client.post("/hospital/register", BODY, format="json").status_code == 403
    duplicate = {**BODY, "registration_number": hospital.registration_number}
    assert admin_client.post("/hospital/register", duplicate, format="json").status_code == 409
    invalid = admin_client.post("/hospital/register", {**BODY, "latitude": 123}, format="json")
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["attr"] == "latitude"


@pytest.mark.parametrize("slash", ["", "/"])
def test_all_lists_active_hospitals_with_filters(api, slash):
    mumbai = HospitalFactory(city="Mumbai", latitude=19.07, longitude=72.87)
    HospitalFactory(city="Pune")
    HospitalFactory(city="Mumbai", is_active=False)
    response = api.get(f"/hospital/all{slash}?city=mumbai")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mumbai.pk]
    near = api.get("/hospital/all?near=19.07,72.87&radius_km=5").json()["results"]
    assert near[0]["id"] == mumbai.pk and near[0]["distance_km"] == pytest.approx(0, abs=0.01)
    assert api.get("/hospital/all?near=north").status_code == 400


def test_detail_is_public_and_hides_inactive(api, hospital):
    response = api.get(f"/hospital/{hospital.pk}")
    assert response.status_code == 200 and response.json()["bed_summary"]["hospital_id"] == hospital.pk
    gone = HospitalFactory(is_active=False)
    assert api.get(f"/hospital/{gone.pk}/").status_code == 404


def test_update_takes_the_same_full_body_as_the_canonical_put(hospital_admin_client, hospital):
    partial = hospital_admin_client.put(f"/hospital/update/{hospital.pk}", {"opd_status": "closed"}, format="json")
    canonical = hospital_admin_client.put(f"/api/v1/hospitals/{hospital.pk}", {"opd_status": "closed"}, format="json")
    assert partial.status_code == canonical.status_code == 400
    assert partial.json() == canonical.json()
    body = {"name": hospital.name, "registration_number": hospital.registration_number, "opd_status": "closed"}
    response = hospital_admin_client.put(f"/hospital/update/{hospital.pk}", body, format="json")
    assert response.status_code == 200, response.content
    hospital.refresh_from_db()
    assert hospital.opd_status == "closed"


def test_update_of_another_hospital_is_403(hospital_admin_client, other_hospital):
    response = hospital_admin_client.put(f"/hospital/update/{other_hospital.pk}", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    other_hospital.refresh_from_db()
    assert other_hospital.name != "Mine"


def test_delete_deactivates(admin_client, hospital_admin_client, hospital):
    assert hospital_admin_client.delete(f"/hospital/delete/{hospital.pk}").status_code == 403
    assert admin_client.delete(f"/hospital/delete/{hospital.pk}/").status_code == 204
    hospital.refresh_from_db()
    assert hospital.is_active is False


def test_floors_create_and_list(hospital_admin_client, api, hospital, other_hospital):
    response = hospital_admin_client.post(
        f"/hospital/{hospital.pk}/floors/create", {"floor_number": "1", "name": "OPD"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["hospital_id"] == hospital.pk
    assert (
        hospital_admin_client.post(f"/hospital/{hospital.pk}/floors/create/", {"floor_number": "1"}).status_code == 409
    )
    assert (
        hospital_admin_client.post(f"/hospital/{other_hospital.pk}/floors/create", {"floor_number": "1"}).status_code
        == 403
    )
    FloorFactory(hospital=hospital, floor_number="2")
    listed = api.get(f"/hospital/{hospital.pk}/floors")
    assert listed.status_code == 200
    assert listed.json()["count"] == 2 == Floor.objects.filter(hospital=hospital).count()


def test_schema_documents_canonical_routes_and_marks_seed_aliases_deprecated(api):
    schema = api.get("/api/schema?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/hospitals/",
        "/api/v1/hospitals/{id}/availability/",
        "/api/v1/hospitals/{id}/floors/",
        "/api/v1/beds/{id}/admit/",
        "/api/v1/beds/{id}/transfer/",
        "/api/v1/admissions/{id}/",
    ):
        assert path in paths, path
    seed = paths["/hospital/register/"]["post"]
    assert seed["deprecated"] is True
    assert seed["operationId"] != paths["/api/v1/hospitals/"]["post"]["operationId"]
    assert "409" in paths["/api/v1/beds/{id}/admit/"]["post"]["responses"]
