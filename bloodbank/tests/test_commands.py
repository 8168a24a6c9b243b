import datetime
import io

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounts.models import BloodGroup, User
from accounts.tests.factories import HospitalFactory
from bloodbank.demo import DONOR_PASSWORD, seed_bloodbank
from bloodbank.models import BloodBank, Component, StockLot

pytestmark = pytest.mark.django_db


@pytest.mark.time_machine(datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC), tick=False)
def test_expire_blood_stock_marks_lots_expiring_today_or_earlier_and_prints_the_count(bank, lot):
    today_lot = lot(bank, "A+", 3, expires_in_days=0)
    old_lot = lot(bank, "B+", 3, expires_in_days=-10)
    fresh = lot(bank, "O-", 3, expires_in_days=1)
    discarded = lot(bank, "AB+", 3, expires_in_days=-1, status=StockLot.Status.DISCARDED)
    out = io.StringIO()

    call_command("expire_blood_stock", stdout=out)

    assert "Marked 2 stock lots as expired." in out.getvalue()
    statuses = dict(StockLot.objects.values_list("pk", "status"))
    assert statuses[today_lot.pk] == statuses[old_lot.pk] == "expired"
    assert statuses[fresh.pk] == "available" and statuses[discarded.pk] == "discarded"
    assert StockLot.objects.get(pk=today_lot.pk).units == 3  # units are kept for the record
    out = io.StringIO()
    call_command("expire_blood_stock", stdout=out)
    assert "Marked 0 stock lots as expired." in out.getvalue()


def test_seed_bloodbank_is_idempotent_and_stocks_every_group(api):
    hospitals = [HospitalFactory(), HospitalFactory()]
    out = io.StringIO()
    first = seed_bloodbank(hospitals=hospitals, stdout=out)
    assert "donor" in out.getvalue() and DONOR_PASSWORD in out.getvalue()
    counts = (BloodBank.objects.count(), StockLot.objects.count(), User.objects.filter(username="donor").count())
    assert counts[0] == 3 and counts[2] == 1
    assert {bank.hospital_id for bank in first["banks"]} == {hospitals[0].pk, hospitals[1].pk, None}

    second = seed_bloodbank(hospitals=hospitals)
    assert (
        BloodBank.objects.count(),
        StockLot.objects.count(),
        User.objects.filter(username="donor").count(),
    ) == counts
    assert second["banks_created"] == 0 and second["lots_created"] == 0

    usable = StockLot.objects.usable()
    for bank in first["banks"]:
        groups = set(usable.filter(blood_bank=bank).values_list("blood_group", flat=True))
        components = set(usable.filter(blood_bank=bank).values_list("component", flat=True))
        assert groups == set(BloodGroup.values)
        assert components == set(Component.values)
    assert usable.aggregate(total=Sum("units"))["total"] > 0

    donor = User.objects.get(username="donor")
    assert donor.role == "donor" and donor.blood_group == "O-" and donor.check_password(DONOR_PASSWORD)
    login = api.post("/auth/login", {"username": "donor", "password": DONOR_PASSWORD})
    assert login.status_code == 200


def test_seed_bloodbank_restocks_demo_lots_that_expired_since_the_last_run(time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC), tick=False)
    seed_bloodbank(hospitals=[])
    lots = StockLot.objects.count()
    time_machine.move_to(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    seed_bloodbank(hospitals=[])
    assert StockLot.objects.count() == lots
    assert set(StockLot.objects.usable().values_list("component", flat=True)) == set(Component.values)
