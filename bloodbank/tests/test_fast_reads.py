"""A bank's stock, read by one hand-written statement (bloodbank.selectors), gives the answers of a plain
ORM reference on random data, in a pinned number of queries; the bank list's rows are the serializer's."""

import datetime
import json
import random

import pytest
import time_machine
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.models import BloodGroup
from bloodbank import serializers
from bloodbank.models import BloodBank, Component, StockLot
from bloodbank.tests.factories import BloodBankFactory, StockLotFactory
from conftest import client_for
from hospitals.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=654321)


def _reference_stock(bank: BloodBank) -> dict:
    """StockSummaryOut from the usable lots one by one, in the order of the groups and components."""
    totals: dict[tuple[str, str], dict] = {}
    for lot in StockLot.objects.usable(timezone.localdate()).filter(blood_bank=bank):
        item = totals.setdefault(
            (lot.blood_group, lot.component),
            {"blood_group": lot.blood_group, "component": lot.component, "units": 0, "lots": 0, "next_expiry": None},
        )
        item["units"] += lot.units
        item["lots"] += 1
        item["next_expiry"] = min(filter(None, [item["next_expiry"], lot.expires_on]))
    order = {
        (group, component): (BloodGroup.values.index(group), Component.values.index(component))
        for group, component in totals
    }
    items = [totals[key] for key in sorted(totals, key=order.__getitem__)]
    return json.loads(JSONRenderer().render({"blood_bank_id": bank.pk, "as_of": timezone.now(), "items": items}))


@pytest.fixture
def random_banks(db):
    """Banks (one deactivated, one without lots) with lots of random groups, components, statuses,
    units (used up included) and expiries (past, today, ahead)."""
    rng = random.Random(2021)
    today = timezone.localdate()
    banks = BloodBankFactory.create_batch(4) + [BloodBankFactory(is_active=False), BloodBankFactory()]
    for bank in banks[:5]:
        for number in range(rng.randint(0, 30)):
            expires_on = today + datetime.timedelta(days=rng.choice([-3, -1, 0, 1, 2, 10, 40, 300]))
            units = rng.choice([0, 1, 2, 5, 9])
            StockLotFactory(
                blood_bank=bank,
                lot_number=f"R-{bank.pk}-{number}",
                blood_group=rng.choice(BloodGroup.values),
                component=rng.choice(Component.values),
                units=units,
                initial_units=units + rng.randint(0, 3),
                collected_on=expires_on - datetime.timedelta(days=5),
                expires_on=expires_on,
                status=rng.choice(
                    [StockLot.Status.AVAILABLE] * 4 + [StockLot.Status.EXPIRED, StockLot.Status.DISCARDED]
                ),
            )
    return banks


def _client(who: str):
    if who == "anonymous":
        return APIClient()
    return client_for(UserFactory(role="admin", is_staff=True) if who == "admin" else UserFactory())


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
def test_stock_matches_plain_orm_reference(random_banks, who, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        client = _client(who)  # a token issued at the frozen time
        for bank in random_banks:
            with django_assert_max_num_queries(2 if who != "anonymous" else 1):
                response = client.get(f"/api/v1/blood-banks/{bank.pk}/stock")
            if not bank.is_active and who != "admin":
                assert response.status_code == 404
                assert response.json()["errors"][0]["code"] == "not_found"
                continue
            assert response.status_code == 200, response.content
            assert response.json() == _reference_stock(bank)


@pytest.mark.parametrize("pk", ["0", "-3", "abc", "99999999999999999999999", "9223372036854775807"])
def test_stock_of_ids_no_row_can_have_is_404(api, pk):
    response = api.get(f"/api/v1/blood-banks/{pk}/stock")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
@pytest.mark.parametrize("path", ["/api/v1/blood-banks?page_size=100", "/bloodbank/all"])
def test_bank_lists_match_the_serializer(random_banks, who, path, django_assert_max_num_queries):
    client = _client(who)
    with django_assert_max_num_queries(2 if who != "anonymous" else 1):  # the page and its count: one query
        response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    banks = BloodBank.objects.order_by("id")
    if who != "admin":
        banks = banks.filter(is_active=True)
    assert rows == json.loads(JSONRenderer().render(serializers.BloodBankOut(banks, many=True).data))


def test_bank_list_pages_match_the_generic_list(random_banks, api):
    active = list(BloodBank.objects.filter(is_active=True).order_by("id"))
    response = api.get("/api/v1/blood-banks?page=2&page_size=2")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(active)
    assert [row["id"] for row in body["results"]] == [bank.pk for bank in active[2:4]]
    assert body["previous"].endswith("/api/v1/blood-banks?page_size=2")
    assert body["next"].endswith("/api/v1/blood-banks?page=3&page_size=2")
    # Past the end: the paginator's 404; malformed: its 400; a filter: the generic list.
    assert api.get("/api/v1/blood-banks?page=9").status_code == 404
    assert api.get("/api/v1/blood-banks?page=0").status_code == 404
    assert api.get("/api/v1/blood-banks?page=x").status_code == 400
    assert api.get("/api/v1/blood-banks?page_size=0").status_code == 400
    filtered = api.get(f"/api/v1/blood-banks?city={active[0].city}").json()
    assert [row["id"] for row in filtered["results"]] == [
        bank.pk for bank in active if bank.city.lower() == active[0].city.lower()
    ]


def test_empty_bank_list_is_an_empty_first_page(api, db):
    assert api.get("/bloodbank/all").json() == {"count": 0, "next": None, "previous": None, "results": []}
