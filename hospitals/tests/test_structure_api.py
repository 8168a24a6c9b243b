"""Floors, wards and beds over HTTP: multi- vs single-level rules, uniqueness, who may write."""

import pytest

from accounts.models import Activity
from conftest import client_for
from hospitals.models import Bed, BedStatus, Floor, Ward
from hospitals.tests.factories import (
    AdmissionFactory,
    BedFactory,
    FloorFactory,
    HospitalFactory,
    UserFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db


def error(response):
    return response.json()["errors"][0]


@pytest.fixture
def single_level(db):
    return HospitalFactory(is_multi_level=False)


# --- floors -----------------------------------------------------------------------------------


def test_admin_creates_floor(admin_client, hospital):
    response = admin_client.post(
        "/api/v1/floors", {"hospital_id": hospital.pk, "floor_number": "G", "name": "Ground"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "id": response.json()["id"],
        "hospital_id": hospital.pk,
        "floor_number": "G",
        "name": "Ground",
    }
    assert Activity.objects.filter(action="create", object_type="floor").exists()


def test_hospital_admin_creates_floor_in_own_hospital_by_default(hospital_admin_client, hospital):
    response = hospital_admin_client.post("/api/v1/floors/", {"floor_number": "2"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["hospital_id"] == hospital.pk and response.json()["floor_number"] == "2"


def test_hospital_admin_cannot_create_floor_in_another_hospital(hospital_admin_client, other_hospital):
    response = hospital_admin_client.post(
        "/api/v1/floors", {"hospital_id": other_hospital.pk, "floor_number": "1"}, format="json"
    )
    assert response.status_code == 403
    assert not Floor.objects.exists()


@pytest.mark.parametrize("client_name", ["doctor_client", "driver_client", "patient_client", "donor_client"])
def test_non_managers_cannot_create_floors(request, client_name, hospital):
    client = request.getfixturevalue(client_name)
    response = client.post("/api/v1/floors", {"hospital_id": hospital.pk, "floor_number": "1"}, format="json")
    assert response.status_code == 403
    assert not Floor.objects.exists()


def test_anonymous_cannot_create_floor(api, hospital):
    response = api.post("/api/v1/floors", {"hospital_id": hospital.pk, "floor_number": "1"}, format="json")
    assert response.status_code == 401


def test_duplicate_floor_number_in_hospital_is_409(admin_client, hospital):
    FloorFactory(hospital=hospital, floor_number="3")
    response = admin_client.post("/api/v1/floors", {"hospital_id": hospital.pk, "floor_number": "3"}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "unique"
    nested = admin_client.post(f"/api/v1/hospitals/{hospital.pk}/floors", {"floor_number": "3"}, format="json")
    assert nested.status_code == 409 and error(nested)["code"] == "unique"
    assert Floor.objects.filter(hospital=hospital, floor_number="3").count() == 1


def test_same_floor_number_in_two_hospitals_is_fine(admin_client, hospital, other_hospital):
    FloorFactory(hospital=hospital, floor_number="1")
    response = admin_client.post(
        "/api/v1/floors", {"hospital_id": other_hospital.pk, "floor_number": "1"}, format="json"
    )
    assert response.status_code == 201


def test_single_level_hospital_has_no_floors(admin_client, single_level):
    response = admin_client.post("/api/v1/floors", {"hospital_id": single_level.pk, "floor_number": "1"}, format="json")
    assert response.status_code == 400
    assert error(response)["attr"] == "hospital_id" and error(response)["code"] == "single_level_hospital"
    nested = admin_client.post(f"/api/v1/hospitals/{single_level.pk}/floors", {"floor_number": "1"}, format="json")
    assert nested.status_code == 400 and error(nested)["code"] == "single_level_hospital"
    assert not Floor.objects.exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"hospital_id": 999999, "floor_number": "1"}, "hospital_id"),
        ({"hospital_id": "abc", "floor_number": "1"}, "hospital_id"),
        ({"hospital_id": True, "floor_number": "1"}, "hospital_id"),
        ({"hospital_id": 10**30, "floor_number": "1"}, "hospital_id"),
        ({"hospital_id": None, "floor_number": "1"}, "hospital_id"),
        ({"floor_number": "1"}, "hospital_id"),
        ({"hospital_id": "HOSPITAL"}, "floor_number"),
        ({"hospital_id": "HOSPITAL", "floor_number": "x" * 21}, "floor_number"),
        ({"hospital_id": "HOSPITAL", "floor_number": "1", "name": "n" * 101}, "name"),
    ],
)
def test_invalid_floor_body_is_400_naming_field(admin_client, hospital, body, attr):
    body = {k: hospital.pk if v == "HOSPITAL" else v for k, v in body.items()}
    response = admin_client.post("/api/v1/floors", body, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    assert not Floor.objects.exists()


def test_nested_floor_list_is_public_paginated_and_own_hospital_only(api, hospital, other_hospital):
    FloorFactory.create_batch(3, hospital=hospital)
    FloorFactory(hospital=other_hospital)
    response = api.get(f"/api/v1/hospitals/{hospital.pk}/floors?page_size=2")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3 and len(data["results"]) == 2 and data["next"]
    assert {row["hospital_id"] for row in data["results"]} == {hospital.pk}


def test_nested_floor_create_by_own_hospital_admin(hospital_admin_client, hospital):
    response = hospital_admin_client.post(
        f"/api/v1/hospitals/{hospital.pk}/floors/", {"floor_number": "B1", "name": "Basement"}, format="json"
    )
    assert response.status_code == 201
    assert Floor.objects.get(pk=response.json()["id"]).hospital_id == hospital.pk


def test_nested_floor_create_in_other_hospital_is_403(hospital_admin_client, other_hospital):
    response = hospital_admin_client.post(
        f"/api/v1/hospitals/{other_hospital.pk}/floors", {"floor_number": "1"}, format="json"
    )
    assert response.status_code == 403
    assert not Floor.objects.exists()


def test_nested_floors_of_unknown_or_inactive_hospital_are_404(api, admin_client):
    gone = HospitalFactory(is_active=False)
    assert api.get(f"/api/v1/hospitals/{gone.pk}/floors").status_code == 404
    assert api.get("/api/v1/hospitals/987654/floors").status_code == 404
    assert admin_client.post("/api/v1/hospitals/987654/floors", {"floor_number": "1"}, format="json").status_code == 404


def test_floor_update_by_own_admin_and_not_by_other(hospital_admin_client, hospital, other_hospital):
    own = FloorFactory(hospital=hospital, floor_number="1")
    foreign = FloorFactory(hospital=other_hospital, floor_number="1")
    response = hospital_admin_client.patch(f"/api/v1/floors/{own.pk}", {"name": "First"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "First"
    response = hospital_admin_client.patch(f"/api/v1/floors/{foreign.pk}", {"name": "Mine now"}, format="json")
    assert response.status_code == 403
    foreign.refresh_from_db()
    assert foreign.name != "Mine now"


def test_floor_cannot_move_to_another_hospital(admin_client, hospital, other_hospital):
    floor = FloorFactory(hospital=hospital)
    response = admin_client.patch(f"/api/v1/floors/{floor.pk}", {"hospital_id": other_hospital.pk}, format="json")
    assert response.status_code == 400
    assert error(response)["attr"] == "hospital_id" and error(response)["code"] == "hospital_mismatch"
    floor.refresh_from_db()
    assert floor.hospital_id == hospital.pk


def test_floor_renumber_to_taken_number_is_409(admin_client, hospital):
    FloorFactory(hospital=hospital, floor_number="1")
    second = FloorFactory(hospital=hospital, floor_number="2")
    response = admin_client.patch(f"/api/v1/floors/{second.pk}", {"floor_number": "1"}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "unique"
    second.refresh_from_db()
    assert second.floor_number == "2"


@pytest.mark.parametrize("resource", ["floors", "wards", "beds"])
def test_delete_is_405_and_keeps_the_row(admin_client, hospital, resource):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    row = {"floors": bed.ward.floor, "wards": bed.ward, "beds": bed}[resource]
    response = admin_client.delete(f"/api/v1/{resource}/{row.pk}")
    assert response.status_code == 405
    assert type(row).objects.filter(pk=row.pk).exists()


def test_floors_list_filters_by_hospital_and_hides_inactive_hospitals(api, admin_client, hospital):
    own = FloorFactory(hospital=hospital)
    hidden = FloorFactory(hospital=HospitalFactory(is_active=False))
    FloorFactory()
    rows = api.get(f"/api/v1/floors?hospital_id={hospital.pk}").json()["results"]
    assert [r["id"] for r in rows] == [own.pk]
    assert api.get(f"/api/v1/floors/{hidden.pk}").status_code == 404
    assert admin_client.get(f"/api/v1/floors/{hidden.pk}").status_code == 200


def test_bad_id_filter_is_400(api):
    response = api.get("/api/v1/floors?hospital_id=abc")
    assert response.status_code == 400
    assert error(response)["attr"] == "hospital_id"


# --- wards ------------------------------------------------------------------------------------


def test_ward_in_multi_level_hospital_needs_floor(admin_client, hospital):
    response = admin_client.post(
        "/api/v1/wards", {"hospital_id": hospital.pk, "name": "ICU A", "ward_type": "icu"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["attr"] == "floor_id"
    assert not Ward.objects.exists()


def test_ward_on_floor_takes_the_floors_hospital(admin_client, hospital):
    floor = FloorFactory(hospital=hospital)
    response = admin_client.post(
        "/api/v1/wards",
        {"floor_id": floor.pk, "name": "ICU A", "ward_number": "W-1", "ward_type": "icu"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "id": response.json()["id"],
        "hospital_id": hospital.pk,
        "floor_id": floor.pk,
        "name": "ICU A",
        "ward_number": "W-1",
        "ward_type": "icu",
    }


def test_ward_floor_must_belong_to_its_hospital(admin_client, hospital, other_hospital):
    foreign_floor = FloorFactory(hospital=other_hospital)
    response = admin_client.post(
        "/api/v1/wards", {"hospital_id": hospital.pk, "floor_id": foreign_floor.pk, "name": "X"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["attr"] == "floor_id" and error(response)["code"] == "hospital_mismatch"
    assert not Ward.objects.exists()


def test_single_level_ward_hangs_off_the_hospital(admin_client, single_level):
    response = admin_client.post(
        "/api/v1/wards", {"hospital_id": single_level.pk, "name": "General", "ward_type": "general"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["floor_id"] is None and response.json()["hospital_id"] == single_level.pk


def test_single_level_ward_with_a_floor_is_400(admin_client, single_level):
    floor = FloorFactory()
    response = admin_client.post(
        "/api/v1/wards", {"hospital_id": single_level.pk, "floor_id": floor.pk, "name": "X"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["attr"] == "floor_id" and error(response)["code"] == "single_level_hospital"
    assert not Ward.objects.filter(hospital=single_level).exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"name": "X", "ward_type": "spa"}, "ward_type"),
        ({"ward_type": "icu"}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "X", "ward_number": "w" * 21}, "ward_number"),
        ({"name": "X", "floor_id": 424242}, "floor_id"),
    ],
)
def test_invalid_ward_body_is_400_naming_field(admin_client, single_level, body, attr):
    response = admin_client.post("/api/v1/wards", {"hospital_id": single_level.pk, **body}, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    assert not Ward.objects.exists()


def test_hospital_admin_cannot_add_ward_to_another_hospital(hospital_admin_client, other_hospital):
    floor = FloorFactory(hospital=other_hospital)
    response = hospital_admin_client.post("/api/v1/wards", {"floor_id": floor.pk, "name": "X"}, format="json")
    assert response.status_code == 403
    assert not Ward.objects.exists()


def test_doctor_cannot_add_ward(doctor_client, hospital):
    floor = FloorFactory(hospital=hospital)
    response = doctor_client.post("/api/v1/wards", {"floor_id": floor.pk, "name": "X"}, format="json")
    assert response.status_code == 403


def test_ward_moves_to_another_floor_of_its_hospital(hospital_admin_client, hospital):
    ward = WardFactory(hospital=hospital)
    floor = FloorFactory(hospital=hospital)
    response = hospital_admin_client.patch(
        f"/api/v1/wards/{ward.pk}", {"floor_id": floor.pk, "ward_type": "surgical"}, format="json"
    )
    assert response.status_code == 200, response.content
    ward.refresh_from_db()
    assert ward.floor_id == floor.pk and ward.ward_type == "surgical"


def test_ward_cannot_move_to_another_hospitals_floor_or_lose_its_floor(admin_client, hospital, other_hospital):
    ward = WardFactory(hospital=hospital)
    original_floor = ward.floor_id
    foreign = FloorFactory(hospital=other_hospital)
    moved = admin_client.patch(f"/api/v1/wards/{ward.pk}", {"floor_id": foreign.pk}, format="json")
    assert moved.status_code == 400 and error(moved)["attr"] == "floor_id"
    assert error(moved)["code"] == "hospital_mismatch"
    cleared = admin_client.patch(f"/api/v1/wards/{ward.pk}", {"floor_id": None}, format="json")
    assert cleared.status_code == 400 and error(cleared)["attr"] == "floor_id"
    rehomed = admin_client.patch(f"/api/v1/wards/{ward.pk}", {"hospital_id": other_hospital.pk}, format="json")
    assert rehomed.status_code == 400 and error(rehomed)["attr"] == "hospital_id"
    assert error(rehomed)["code"] == "hospital_mismatch"
    ward.refresh_from_db()
    assert ward.floor_id == original_floor and ward.hospital_id == hospital.pk


def test_hospital_admin_cannot_edit_another_hospitals_ward(hospital_admin_client, other_hospital):
    ward = WardFactory(hospital=other_hospital, name="Theirs")
    response = hospital_admin_client.patch(f"/api/v1/wards/{ward.pk}", {"name": "Ours"}, format="json")
    assert response.status_code == 403
    ward.refresh_from_db()
    assert ward.name == "Theirs"


def test_wards_filter_by_hospital_floor_and_type(api, hospital):
    icu = WardFactory(hospital=hospital, ward_type="icu")
    general = WardFactory(hospital=hospital, ward_type="general")
    WardFactory(ward_type="icu")
    rows = api.get(f"/api/v1/wards?hospital_id={hospital.pk}&ward_type=icu").json()["results"]
    assert [r["id"] for r in rows] == [icu.pk]
    rows = api.get(f"/api/v1/wards?floor_id={general.floor_id}").json()["results"]
    assert [r["id"] for r in rows] == [general.pk]


# --- beds -------------------------------------------------------------------------------------


def test_bed_create_derives_hospital_from_ward(hospital_admin_client, hospital):
    ward = WardFactory(hospital=hospital, ward_type="icu")
    response = hospital_admin_client.post("/api/v1/beds", {"ward_id": ward.pk, "bed_number": "ICU-1"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["hospital_id"] == hospital.pk and data["ward_id"] == ward.pk
    assert data["status"] == "available" and data["current_admission"] is None and data["ward_type"] == "icu"
    assert Bed.objects.get(pk=data["id"]).hospital_id == hospital.pk


def test_bed_may_start_in_maintenance_but_not_occupied(admin_client, hospital):
    ward = WardFactory(hospital=hospital)
    ok = admin_client.post("/api/v1/beds", {"ward_id": ward.pk, "bed_number": "1", "status": "maintenance"})
    assert ok.status_code == 201 and ok.json()["status"] == "maintenance"
    bad = admin_client.post("/api/v1/beds", {"ward_id": ward.pk, "bed_number": "2", "status": "occupied"})
    assert bad.status_code == 400 and error(bad)["attr"] == "status"
    assert not Bed.objects.filter(bed_number="2").exists()


def test_duplicate_bed_number_in_ward_is_409(admin_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital), bed_number="7")
    response = admin_client.post("/api/v1/beds", {"ward_id": bed.ward_id, "bed_number": "7"}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "unique"
    assert Bed.objects.filter(ward=bed.ward, bed_number="7").count() == 1


def test_same_bed_number_in_another_ward_is_fine(admin_client, hospital):
    BedFactory(ward=WardFactory(hospital=hospital), bed_number="7")
    other_ward = WardFactory(hospital=hospital)
    response = admin_client.post("/api/v1/beds", {"ward_id": other_ward.pk, "bed_number": "7"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"ward_id": 424242, "bed_number": "1"}, "ward_id"),
        ({"bed_number": "1"}, "ward_id"),
        ({"ward_id": "WARD"}, "bed_number"),
        ({"ward_id": "WARD", "bed_number": "b" * 21}, "bed_number"),
        ({"ward_id": "WARD", "bed_number": "1", "status": "broken"}, "status"),
    ],
)
def test_invalid_bed_body_is_400_naming_field(admin_client, hospital, body, attr):
    ward = WardFactory(hospital=hospital)
    body = {k: ward.pk if v == "WARD" else v for k, v in body.items()}
    response = admin_client.post("/api/v1/beds", body, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    assert not Bed.objects.exists()


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client", "driver_client", "patient_client"])
def test_bed_create_in_another_hospital_or_by_non_manager_is_403(request, client_name, hospital, other_hospital):
    ward = WardFactory(hospital=other_hospital if client_name == "hospital_admin_client" else hospital)
    client = request.getfixturevalue(client_name)
    response = client.post("/api/v1/beds", {"ward_id": ward.pk, "bed_number": "1"}, format="json")
    assert response.status_code == 403
    assert not Bed.objects.exists()


def test_bed_renumber_and_move_within_hospital(hospital_admin_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital), bed_number="1")
    other_ward = WardFactory(hospital=hospital)
    response = hospital_admin_client.patch(
        f"/api/v1/beds/{bed.pk}", {"ward_id": other_ward.pk, "bed_number": "9"}, format="json"
    )
    assert response.status_code == 200, response.content
    bed.refresh_from_db()
    assert bed.ward_id == other_ward.pk and bed.bed_number == "9" and bed.hospital_id == hospital.pk


def test_bed_cannot_move_to_another_hospitals_ward(admin_client, hospital_admin_client, hospital, other_hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    foreign_ward = WardFactory(hospital=other_hospital)
    as_admin = admin_client.patch(f"/api/v1/beds/{bed.pk}", {"ward_id": foreign_ward.pk}, format="json")
    assert as_admin.status_code == 400 and error(as_admin)["attr"] == "ward_id"
    assert error(as_admin)["code"] == "hospital_mismatch"
    as_hospital_admin = hospital_admin_client.patch(
        f"/api/v1/beds/{bed.pk}", {"ward_id": foreign_ward.pk}, format="json"
    )
    assert as_hospital_admin.status_code == 403
    bed.refresh_from_db()
    assert bed.hospital_id == hospital.pk and bed.ward.hospital_id == hospital.pk


def test_bed_status_is_not_patchable(admin_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    response = admin_client.patch(f"/api/v1/beds/{bed.pk}", {"status": "maintenance"}, format="json")
    assert response.status_code == 400 and error(response)["attr"] == "status"
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE


def test_hospital_admin_cannot_edit_another_hospitals_bed(hospital_admin_client, other_hospital):
    bed = BedFactory(ward=WardFactory(hospital=other_hospital), bed_number="1")
    response = hospital_admin_client.patch(f"/api/v1/beds/{bed.pk}", {"bed_number": "2"}, format="json")
    assert response.status_code == 403
    bed.refresh_from_db()
    assert bed.bed_number == "1"


def test_beds_filter_by_hospital_ward_ward_type_and_status(api, hospital):
    icu = WardFactory(hospital=hospital, ward_type="icu")
    free = BedFactory(ward=icu)
    BedFactory(ward=icu, status=BedStatus.CLEANING)
    general = BedFactory(ward=WardFactory(hospital=hospital, ward_type="general"))
    BedFactory()

    def rows(query):
        response = api.get(f"/api/v1/beds?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert len(rows(f"hospital_id={hospital.pk}")) == 3
    assert rows(f"hospital_id={hospital.pk}&ward_type=icu&status=available") == [free.pk]
    assert rows(f"ward_id={general.ward_id}") == [general.pk]
    assert api.get("/api/v1/beds?status=broken").status_code == 400
    assert api.get("/api/v1/beds?ward_type=spa").status_code == 400


# --- current_admission visibility -------------------------------------------------------------


@pytest.fixture
def occupied_bed(hospital, patient):
    return AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)), patient=patient).bed


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "doctor_client", "driver_client"])
def test_current_admission_shown_to_staff_of_its_hospital_and_admin(request, client_name, occupied_bed, patient):
    client = request.getfixturevalue(client_name)
    detail = client.get(f"/api/v1/beds/{occupied_bed.pk}").json()
    assert detail["status"] == "occupied"
    assert detail["current_admission"]["patient_id"] == patient.pk
    listed = client.get(f"/api/v1/beds?hospital_id={occupied_bed.hospital_id}").json()["results"]
    assert listed[0]["current_admission"]["patient_id"] == patient.pk


def test_current_admission_hidden_from_everyone_else(api, patient_client, occupied_bed, other_hospital):
    other_staff = client_for(UserFactory(role="hospital_admin", hospital=other_hospital))
    other_doctor = client_for(UserFactory(role="doctor", hospital=other_hospital))
    for client in (api, patient_client, other_staff, other_doctor):
        detail = client.get(f"/api/v1/beds/{occupied_bed.pk}")
        assert detail.status_code == 200
        assert detail.json()["status"] == "occupied" and detail.json()["current_admission"] is None
        listed = client.get("/api/v1/beds").json()["results"]
        assert listed[0]["current_admission"] is None
