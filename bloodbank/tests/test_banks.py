import datetime

import pytest
from django.utils import timezone

from accounts.models import Activity
from bloodbank.models import BloodBank, StockLot
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

BANKS = "/api/v1/blood-banks"


def bank_body(**overrides):
    body = {
        "name": "Red Cross Blood Centre",
        "license_number": "BB-NEW-1",
        "address": "1 MG Road",
        "city": "Pune",
        "latitude": 18.5,
        "longitude": 73.8,
        "phone": "+91-20-1234",
        "email": "bank@example.org",
    }
    body.update(overrides)
    return body


def error(response):
    return response.json()["errors"][0]


# --- create ------------------------------------------------------------------------------------


def test_admin_creates_blood_bank_with_contract_fields(admin_client, hospital):
    response = admin_client.post(BANKS, bank_body(hospital_id=hospital.pk))
    assert response.status_code == 201, response.content
    body = response.json()
    for field in [
        "id",
        "name",
        "hospital_id",
        "license_number",
        "address",
        "city",
        "latitude",
        "longitude",
        "phone",
        "email",
        "is_active",
    ]:
        assert field in body
    assert body["hospital_id"] == hospital.pk and body["is_active"] is True
    assert BloodBank.objects.filter(pk=body["id"], license_number="BB-NEW-1").exists()
    assert Activity.objects.filter(action="create", object_type="blood_bank", object_id=str(body["id"])).exists()


def test_independent_blood_bank_has_null_hospital(admin_client):
    response = admin_client.post(BANKS + "/", bank_body())
    assert response.status_code == 201
    assert response.json()["hospital_id"] is None


@pytest.mark.parametrize("client_fixture", ["hospital_admin_client", "doctor_client", "patient_client", "donor_client"])
def test_only_admin_creates_blood_banks(request, client_fixture, hospital):
    client = request.getfixturevalue(client_fixture)
    response = client.post(BANKS, bank_body(hospital_id=hospital.pk))
    assert response.status_code == 403
    assert not BloodBank.objects.exists()


def test_anonymous_create_is_401(api):
    assert api.post(BANKS, bank_body()).status_code == 401
    assert not BloodBank.objects.exists()


def test_duplicate_license_number_is_409(admin_client, bank):
    response = admin_client.post(BANKS, bank_body(license_number=bank.license_number))
    assert response.status_code == 409 and error(response)["code"] == "unique"
    assert BloodBank.objects.count() == 1


def test_unknown_hospital_id_is_400_naming_the_field(admin_client):
    response = admin_client.post(BANKS, bank_body(hospital_id=999999))
    assert response.status_code == 400
    assert error(response)["attr"] == "hospital_id"


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"license_number": "L" * 65}, "license_number"),
        ({"latitude": 91}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"latitude": None}, "latitude"),
        ({"email": "not-an-email"}, "email"),
        ({"city": "c" * 101}, "city"),
    ],
)
def test_invalid_bank_fields_are_400_naming_the_field(admin_client, overrides, attr):
    response = admin_client.post(BANKS, bank_body(**overrides))
    assert response.status_code == 400
    assert error(response)["attr"] == attr


# --- read --------------------------------------------------------------------------------------


def test_bank_list_is_public_and_has_no_query_per_row(api, django_assert_max_num_queries):
    BloodBankFactory.create_batch(12)
    with django_assert_max_num_queries(3):
        response = api.get(BANKS, {"page_size": 50})
    assert response.status_code == 200
    assert response.json()["count"] == 12


def test_deactivated_bank_is_hidden_from_the_public_but_not_from_admin(api, admin_client, bank):
    bank.is_active = False
    bank.save()
    assert api.get(f"{BANKS}/{bank.pk}").status_code == 404
    assert api.get(BANKS).json()["count"] == 0
    assert admin_client.get(f"{BANKS}/{bank.pk}").status_code == 200


def test_non_numeric_bank_id_is_404(api):
    assert api.get(f"{BANKS}/abc").status_code == 404
    assert api.get(f"{BANKS}/99999999999999999999999").status_code == 404


# --- update and deactivate ---------------------------------------------------------------------


def test_hospital_admin_updates_its_hospitals_bank(hospital_admin_client, bank):
    response = hospital_admin_client.patch(f"{BANKS}/{bank.pk}", {"phone": "+91-999"})
    assert response.status_code == 200, response.content
    bank.refresh_from_db()
    assert bank.phone == "+91-999"
    assert Activity.objects.filter(action="update", object_type="blood_bank", object_id=str(bank.pk)).exists()


def test_hospital_admin_of_another_hospital_gets_403_and_bank_unchanged(other_bank, hospital_admin_client):
    response = hospital_admin_client.patch(f"{BANKS}/{other_bank.pk}", {"phone": "+91-999"})
    assert response.status_code == 403
    other_bank.refresh_from_db()
    assert other_bank.phone != "+91-999"


def test_hospital_admin_cannot_manage_an_independent_bank(hospital_admin_client, independent_bank):
    assert hospital_admin_client.patch(f"{BANKS}/{independent_bank.pk}", {"name": "Mine"}).status_code == 403


@pytest.mark.parametrize("client_fixture", ["doctor_client", "patient_client", "donor_client"])
def test_other_roles_cannot_update_banks(request, client_fixture, bank):
    client = request.getfixturevalue(client_fixture)
    assert client.patch(f"{BANKS}/{bank.pk}", {"name": "Taken"}).status_code == 403
    bank.refresh_from_db()
    assert bank.name != "Taken"


def test_hospital_admin_cannot_move_or_deactivate_its_bank(hospital_admin_client, bank, other_hospital):
    moved = hospital_admin_client.patch(f"{BANKS}/{bank.pk}", {"hospital_id": other_hospital.pk})
    deactivated = hospital_admin_client.patch(f"{BANKS}/{bank.pk}", {"is_active": False})
    assert moved.status_code == 403 and deactivated.status_code == 403
    bank.refresh_from_db()
    assert bank.hospital_id != other_hospital.pk and bank.is_active


def test_admin_can_put_a_full_update(admin_client, bank):
    response = admin_client.put(f"{BANKS}/{bank.pk}", bank_body(license_number=bank.license_number, name="Renamed"))
    assert response.status_code == 200
    bank.refresh_from_db()
    assert bank.name == "Renamed"


def test_delete_deactivates_bank_admin_only(admin_client, hospital_admin_client, bank):
    assert hospital_admin_client.delete(f"{BANKS}/{bank.pk}").status_code == 403
    bank.refresh_from_db()
    assert bank.is_active
    response = admin_client.delete(f"{BANKS}/{bank.pk}")
    assert response.status_code == 204
    bank.refresh_from_db()
    assert bank.is_active is False
    assert BloodBank.objects.filter(pk=bank.pk).exists()
    assert Activity.objects.filter(action="delete", object_type="blood_bank", object_id=str(bank.pk)).exists()


# --- filters -----------------------------------------------------------------------------------


def test_filter_by_city_and_hospital(api, bank, other_bank):
    by_city = api.get(BANKS, {"city": "mumbai"}).json()
    assert [row["id"] for row in by_city["results"]] == [other_bank.pk]
    by_hospital = api.get(BANKS, {"hospital_id": bank.hospital_id}).json()
    assert [row["id"] for row in by_hospital["results"]] == [bank.pk]


def test_stock_filter_counts_only_usable_units_of_exactly_that_group_and_component(
    api, bank, other_bank, independent_bank, lot
):
    lot(bank, "O-", 3, expires_in_days=10)
    lot(bank, "O-", 2, expires_in_days=20)  # bank: 5 usable O- packed red cells
    lot(other_bank, "O-", 4)
    lot(other_bank, "O-", 50, expires_in_days=0)  # expired today, still "available": never counted
    lot(other_bank, "O+", 50)  # another group
    lot(independent_bank, "O-", 50, component="whole_blood")  # another component
    lot(independent_bank, "O-", 50, status=StockLot.Status.DISCARDED)

    def ids(**params):
        response = api.get(BANKS, {"blood_group": "O-", "component": "packed_red_cells", **params})
        assert response.status_code == 200
        return sorted(row["id"] for row in response.json()["results"])

    assert ids(min_units=5) == [bank.pk]
    assert ids(min_units=4) == sorted([bank.pk, other_bank.pk])
    assert ids(min_units=6) == []
    assert ids() == sorted([bank.pk, other_bank.pk])


def test_stock_filter_with_bad_values_is_400(api):
    assert error(api.get(BANKS, {"blood_group": "C+"}))["attr"] == "blood_group"
    assert error(api.get(BANKS, {"min_units": 0}))["attr"] == "min_units"
    assert error(api.get(BANKS, {"component": "serum"}))["attr"] == "component"


def test_near_returns_nearest_first_with_distance(api, bank, other_bank, independent_bank):
    response = api.get(BANKS, {"near": "18.53,73.86", "radius_km": 200})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [bank.pk, other_bank.pk, independent_bank.pk]
    assert rows[0]["distance_km"] < rows[1]["distance_km"] < rows[2]["distance_km"]
    near_only = api.get(BANKS, {"near": "18.53,73.86"}).json()["results"]  # default radius 50 km
    assert [row["id"] for row in near_only] == [bank.pk]


@pytest.mark.parametrize("near", ["abc", "91,0", "10", "1,2,3", "nan,1"])
def test_bad_near_is_400_naming_near(api, near):
    response = api.get(BANKS, {"near": near})
    assert response.status_code == 400
    assert error(response)["attr"] == "near"


# --- stock lots --------------------------------------------------------------------------------


@pytest.mark.time_machine(datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize(
    ("component", "expires_on"),
    [
        ("whole_blood", "2026-04-14"),
        ("packed_red_cells", "2026-04-21"),
        ("platelets", "2026-03-15"),
        ("plasma", "2027-03-10"),
        ("cryoprecipitate", "2027-03-10"),
    ],
)
def test_stock_add_defaults_expiry_from_shelf_life(hospital_admin_client, bank, component, expires_on):
    response = hospital_admin_client.post(
        f"{BANKS}/{bank.pk}/stock", {"blood_group": "B+", "component": component, "units": 4}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["collected_on"] == "2026-03-10"
    assert body["expires_on"] == expires_on
    assert body["units"] == 4 and body["status"] == "available" and body["blood_bank_id"] == bank.pk
    assert body["lot_number"]
    assert StockLot.objects.get(pk=body["id"]).units == 4


def test_stock_add_component_defaults_to_whole_blood(hospital_admin_client, bank):
    response = hospital_admin_client.post(f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 1})
    assert response.status_code == 201
    assert response.json()["component"] == "whole_blood"
    assert Activity.objects.filter(action="create", object_type="stock_lot").exists()


@pytest.mark.time_machine(datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"collected_on": "2026-03-11"}, "collected_on"),
        ({"expires_on": "2026-03-10"}, "expires_on"),  # expiring today is already expired
        ({"expires_on": "2026-03-09"}, "expires_on"),
        ({"collected_on": "2026-01-01"}, "expires_on"),  # whole blood: 35 days -> already expired
        ({"collected_on": "2026-03-01", "expires_on": "2026-02-28"}, "expires_on"),
        ({"blood_group": "C+"}, "blood_group"),
        ({"component": "serum"}, "component"),
        ({"units": 0}, "units"),
        ({"units": 10001}, "units"),
        ({"lot_number": "x" * 65}, "lot_number"),
        ({"lot_number": "bad lot!"}, "lot_number"),
        ({"collected_on": "10/03/2026"}, "collected_on"),
        ({"collected_on": "2016-03-01", "expires_on": "2026-12-01"}, "collected_on"),  # over 10 years ago
        ({"collected_on": "2026-03-01", "expires_on": "2037-01-01"}, "expires_on"),  # keeps over 10 years
    ],
)
def test_invalid_stock_is_400_naming_the_field(hospital_admin_client, bank, body, attr):
    response = hospital_admin_client.post(f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 2, **body})
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    assert not StockLot.objects.exists()


def test_stock_add_accepts_expiry_tomorrow(hospital_admin_client, bank):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = hospital_admin_client.post(
        f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 2, "expires_on": tomorrow.isoformat()}
    )
    assert response.status_code == 201


def test_repeated_lot_number_in_a_bank_is_409_but_fine_in_another(admin_client, bank, other_bank):
    body = {"blood_group": "A+", "units": 2, "lot_number": "LOT-7"}
    assert admin_client.post(f"{BANKS}/{bank.pk}/stock", body).status_code == 201
    again = admin_client.post(f"{BANKS}/{bank.pk}/stock", body)
    assert again.status_code == 409 and error(again)["code"] == "unique"
    assert StockLot.objects.filter(blood_bank=bank).count() == 1
    assert admin_client.post(f"{BANKS}/{other_bank.pk}/stock", body).status_code == 201


def test_stock_add_by_non_managers_is_refused(request, bank, other_bank, api):
    clients = {
        "hospital_admin_client": other_bank,  # manager of `bank`, not of other_bank
        "doctor_client": bank,
        "patient_client": bank,
        "donor_client": bank,
    }
    for fixture, target in clients.items():
        response = request.getfixturevalue(fixture).post(
            f"{BANKS}/{target.pk}/stock", {"blood_group": "A+", "units": 2}
        )
        assert response.status_code == 403 and error(response)["code"] == "permission_denied", fixture
    assert api.post(f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 2}).status_code == 401
    assert not StockLot.objects.exists()


def test_stock_add_to_a_deactivated_bank_is_409(admin_client, bank):
    bank.is_active = False
    bank.save()
    response = admin_client.post(f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 2})
    assert response.status_code == 409 and error(response)["code"] == "inactive"
    assert not StockLot.objects.exists()


def test_stock_summary_counts_usable_units_only_in_one_query(api, bank, other_bank, lot, django_assert_num_queries):
    lot(bank, "A+", 3, expires_in_days=12)
    lot(bank, "A+", 4, expires_in_days=5)
    lot(bank, "A+", 9, expires_in_days=0)  # expires today: present, "available", never counted
    lot(bank, "A+", 9, expires_in_days=-2)
    lot(bank, "A+", 9, status=StockLot.Status.DISCARDED)
    lot(bank, "A+", 0)  # used up
    lot(bank, "O-", 2, component="plasma", expires_in_days=100)
    lot(other_bank, "A+", 50)
    # One aggregate that also checks the bank is visible (anonymous: no user lookup).
    with django_assert_num_queries(1):
        response = api.get(f"{BANKS}/{bank.pk}/stock")
    assert response.status_code == 200
    body = response.json()
    assert body["blood_bank_id"] == bank.pk and body["as_of"]
    today = timezone.localdate()
    assert body["items"] == [
        {
            "blood_group": "A+",
            "component": "packed_red_cells",
            "units": 7,
            "lots": 2,
            "next_expiry": (today + datetime.timedelta(days=5)).isoformat(),
        },
        {
            "blood_group": "O-",
            "component": "plasma",
            "units": 2,
            "lots": 1,
            "next_expiry": (today + datetime.timedelta(days=100)).isoformat(),
        },
    ]


def test_stock_summary_of_unknown_bank_is_404(api):
    assert api.get(f"{BANKS}/424242/stock").status_code == 404
    assert api.get(f"{BANKS}/not-a-number/stock").status_code == 404


def test_stock_summary_of_a_bank_without_usable_stock_is_empty(api, bank, lot):
    lot(bank, "B+", 4, expires_in_days=-1)
    response = api.get(f"{BANKS}/{bank.pk}/stock")
    assert response.status_code == 200
    assert response.json()["blood_bank_id"] == bank.pk
    assert response.json()["items"] == []


def test_stock_summary_of_a_deactivated_bank_is_404_except_for_admins(api, admin_client, bank, lot):
    lot(bank, "B+", 4, expires_in_days=10)
    bank.is_active = False
    bank.save(update_fields=["is_active"])
    assert api.get(f"{BANKS}/{bank.pk}/stock").status_code == 404
    response = admin_client.get(f"{BANKS}/{bank.pk}/stock")
    assert response.status_code == 200
    assert [item["units"] for item in response.json()["items"]] == [4]


def test_stock_path_has_no_delete(admin_client, bank):
    assert admin_client.delete(f"{BANKS}/{bank.pk}/stock").status_code == 405


# --- seed-compatible aliases -------------------------------------------------------------------


def test_seed_aliases_reach_the_same_views(admin_client, api, hospital):
    created = admin_client.post("/bloodbank/register", bank_body(hospital_id=hospital.pk))
    assert created.status_code == 201
    bank_id = created.json()["id"]
    assert api.get("/bloodbank/all/").json()["count"] == 1
    added = admin_client.post(f"/bloodbank/{bank_id}/addstock", {"blood_group": "AB-", "units": 3})
    assert added.status_code == 201
    summary = api.get(f"/bloodbank/{bank_id}/stock").json()
    assert summary["items"][0]["units"] == 3
    assert api.post("/bloodbank/register", bank_body(license_number="X")).status_code == 401
    assert (
        client_for(hospital.staff.create(username="ha2", role="hospital_admin", email="ha2@example.org"))
        .post("/bloodbank/register", bank_body(license_number="Y"))
        .status_code
        == 403
    )


@pytest.mark.time_machine(datetime.datetime(2026, 3, 9, 20, 0, tzinfo=datetime.UTC), tick=False)
def test_usable_means_expiring_after_the_servers_local_today(api, bank, settings):
    """20:00 UTC on 9 March is already 10 March in Kolkata: a lot expiring on the 10th is then not usable."""
    StockLot.objects.create(
        blood_bank=bank,
        blood_group="A+",
        units=4,
        initial_units=4,
        collected_on=datetime.date(2026, 3, 1),
        expires_on=datetime.date(2026, 3, 10),
        lot_number="EDGE",
    )
    settings.TIME_ZONE = "UTC"
    assert api.get(f"{BANKS}/{bank.pk}/stock").json()["items"][0]["units"] == 4
    settings.TIME_ZONE = "Asia/Kolkata"
    assert api.get(f"{BANKS}/{bank.pk}/stock").json()["items"] == []


@pytest.mark.parametrize("lot_number", ["   ", " LOT-1", "LOT-1\n", "LOT-1 "])
def test_stock_add_rejects_lot_number_with_surrounding_whitespace_with_400(admin_client, bank, lot_number):
    response = admin_client.post(
        f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 1, "lot_number": lot_number}, format="json"
    )
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["lot_number"]
    assert not StockLot.objects.filter(blood_bank=bank).exists()


def test_blank_lot_number_is_documented_and_gets_a_generated_one(admin_client, bank):
    from hms.tests.openapi import openapi

    lot_number = openapi()["components"]["schemas"]["StockLotInRequest"]["properties"]["lot_number"]
    assert {"enum": [""]} in lot_number["anyOf"]
    response = admin_client.post(
        f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 1, "lot_number": ""}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["lot_number"]


@pytest.mark.parametrize("collected_on", ["20260310", "2026-W11-2", "2026-069", "2026-03-10T00:00:00"])
def test_stock_add_rejects_date_not_written_yyyy_mm_dd_with_400(admin_client, bank, collected_on):
    response = admin_client.post(
        f"{BANKS}/{bank.pk}/stock", {"blood_group": "A+", "units": 1, "collected_on": collected_on}, format="json"
    )
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["collected_on"]
    assert not StockLot.objects.filter(blood_bank=bank).exists()
