"""GET /api/v1/blood-banks/{id}/lots: every lot of one bank for its managers, filtered and paginated."""

import datetime

import pytest
from django.utils import timezone

from bloodbank.models import BloodBank, StockLot

pytestmark = pytest.mark.django_db


def lots_of(bank) -> str:
    return f"/api/v1/blood-banks/{bank.pk}/lots"


def error(response):
    return response.json()["errors"][0]


@pytest.fixture
def stocked(bank, lot):
    """Four lots of `bank`: usable A+ red cells, O- plasma, an expired lot and a discarded one."""
    return {
        "a_red": lot(bank, "A+", 5, expires_in_days=30),
        "o_plasma": lot(bank, "O-", 2, expires_in_days=200, component="plasma"),
        "expired": lot(bank, "A+", 1, expires_in_days=2, status=StockLot.Status.EXPIRED),
        "discarded": lot(bank, "B+", 3, expires_in_days=10, status=StockLot.Status.DISCARDED),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_managers_list_every_lot_of_the_bank_whatever_its_status(
    stocked, admin_client, hospital_admin_client, other_bank, lot
):
    lot(other_bank, "A+", 4)
    expected = sorted(item.pk for item in stocked.values())
    for client in (admin_client, hospital_admin_client):
        response = client.get(lots_of(stocked["a_red"].blood_bank))
        assert ids(response) == expected
        assert response.json()["count"] == 4
    item = hospital_admin_client.get(lots_of(stocked["a_red"].blood_bank)).json()["results"][0]
    assert set(item) == {
        "id",
        "blood_bank_id",
        "blood_group",
        "component",
        "units",
        "initial_units",
        "collected_on",
        "expires_on",
        "lot_number",
        "status",
        "created_at",
    }


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"blood_group": "A+"}, {"a_red", "expired"}),
        ({"component": "plasma"}, {"o_plasma"}),
        ({"status": "available"}, {"a_red", "o_plasma"}),
        ({"status": "discarded"}, {"discarded"}),
        ({"expires_before": "EXPIRES_IN_31"}, {"a_red", "expired", "discarded"}),
        ({"blood_group": "A+", "status": "expired"}, {"expired"}),
    ],
)
def test_filters(stocked, hospital_admin_client, params, names):
    if params.get("expires_before") == "EXPIRES_IN_31":
        params = {"expires_before": (timezone.localdate() + datetime.timedelta(days=31)).isoformat()}
    response = hospital_admin_client.get(lots_of(stocked["a_red"].blood_bank), params)
    assert sorted(ids(response)) == sorted(stocked[name].pk for name in names)


def test_expires_before_is_exclusive(stocked, hospital_admin_client):
    day = stocked["a_red"].expires_on
    response = hospital_admin_client.get(lots_of(stocked["a_red"].blood_bank), {"expires_before": day.isoformat()})
    assert stocked["a_red"].pk not in ids(response)


@pytest.mark.parametrize(
    ("name", "value"),
    [("blood_group", "Z+"), ("component", "blood"), ("status", "gone"), ("expires_before", "soon")],
)
def test_bad_filter_value_is_400_naming_it(bank, hospital_admin_client, name, value):
    response = hospital_admin_client.get(lots_of(bank), {name: value})
    assert response.status_code == 400
    assert error(response)["attr"] == name


def test_paginated_like_every_list(bank, lot, hospital_admin_client):
    for _ in range(3):
        lot(bank, "A+", 1)
    body = hospital_admin_client.get(lots_of(bank), {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_other_roles_get_403(bank, other_hospital_admin_client, doctor_client, patient_client, donor_client):
    for client in (other_hospital_admin_client, doctor_client, patient_client, donor_client):
        response = client.get(lots_of(bank))
        assert response.status_code == 403, response.content


def test_anonymous_gets_401(bank, api):
    assert api.get(lots_of(bank)).status_code == 401


def test_independent_bank_is_admin_only(independent_bank, admin_client, hospital_admin_client):
    assert admin_client.get(lots_of(independent_bank)).status_code == 200
    assert hospital_admin_client.get(lots_of(independent_bank)).status_code == 403


@pytest.mark.parametrize("bank_id", ["999999", "abc", "99999999999999999999"])
def test_unknown_bank_is_404(db, admin_client, bank_id):
    response = admin_client.get(f"/api/v1/blood-banks/{bank_id}/lots")
    assert response.status_code == 404


def test_deactivated_bank_is_404_to_its_hospital_admin_and_listed_for_admin(
    bank, lot, admin_client, hospital_admin_client
):
    made = lot(bank, "A+", 1)
    BloodBank.objects.filter(pk=bank.pk).update(is_active=False)
    assert hospital_admin_client.get(lots_of(bank)).status_code == 404
    assert ids(admin_client.get(lots_of(bank))) == [made.pk]


def test_lots_list_is_read_only(bank, hospital_admin_client):
    assert hospital_admin_client.post(lots_of(bank), {}).status_code == 405


def test_list_queries_do_not_grow_with_lots(bank, lot, hospital_admin_client, django_assert_max_num_queries):
    for _ in range(30):
        lot(bank, "A+", 1)
    with django_assert_max_num_queries(6):
        assert hospital_admin_client.get(lots_of(bank), {"page_size": 100}).status_code == 200
