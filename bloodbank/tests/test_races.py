"""Concurrent approvals against the same lots: real threads, real PostgreSQL transactions."""

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.tests.factories import HospitalFactory, UserFactory
from bloodbank.models import Allocation, BloodRequest, Donation, StockLot
from bloodbank.tests.factories import BloodBankFactory, BloodRequestFactory, StockLotFactory
from conftest import client_for, run_together


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_approvals_of_3_units_against_12_usable_units_approve_exactly_four():
    hospital = HospitalFactory()
    bank = BloodBankFactory(hospital=hospital)
    manager = UserFactory(role="hospital_admin", hospital=hospital)
    # 12 usable units spread over lots that allocations must straddle, plus units that never count.
    for units, group in [(5, "A+"), (4, "O-"), (3, "A-")]:
        StockLotFactory(blood_bank=bank, blood_group=group, units=units)
    today = timezone.localdate()
    expired = StockLotFactory(
        blood_bank=bank, blood_group="A+", units=30, collected_on=today - datetime.timedelta(days=40), expires_on=today
    )
    requests = [BloodRequestFactory(blood_bank=bank, blood_group="A+", units=3) for _ in range(10)]
    clients = [client_for(manager) for _ in requests]

    responses = run_together(
        [lambda c=c, r=r: c.post(f"/api/v1/blood-requests/{r.pk}/approve") for c, r in zip(clients, requests)]
    )
    statuses = [response.status_code for response in responses]

    assert sorted(statuses) == [200] * 4 + [409] * 6
    assert BloodRequest.objects.filter(status="approved").count() == 4
    assert StockLot.objects.usable().aggregate(total=Sum("units"))["total"] is None
    assert not StockLot.objects.filter(units__lt=0).exists()
    assert StockLot.objects.exclude(pk=expired.pk).aggregate(total=Sum("units"))["total"] == 0
    assert StockLot.objects.get(pk=expired.pk).units == 30
    assert Allocation.objects.aggregate(total=Sum("units"))["total"] == 12
    for request in BloodRequest.objects.filter(status="approved"):
        assert sum(request.allocations.values_list("units", flat=True)) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_cancel_never_lose_or_double_units():
    hospital = HospitalFactory()
    bank = BloodBankFactory(hospital=hospital)
    manager = UserFactory(role="hospital_admin", hospital=hospital)
    lots = [StockLotFactory(blood_bank=bank, blood_group="O-", units=4) for _ in range(3)]
    approved = [BloodRequestFactory(blood_bank=bank, blood_group="O-", units=2) for _ in range(3)]
    for request in approved:
        assert client_for(manager).post(f"/api/v1/blood-requests/{request.pk}/approve").status_code == 200
    pending = [BloodRequestFactory(blood_bank=bank, blood_group="O-", units=2) for _ in range(6)]
    calls = [lambda r=r, c=client_for(manager): c.post(f"/api/v1/blood-requests/{r.pk}/cancel") for r in approved]
    calls += [lambda r=r, c=client_for(manager): c.post(f"/api/v1/blood-requests/{r.pk}/approve") for r in pending]

    statuses = [response.status_code for response in run_together(calls)]

    assert statuses[:3] == [200, 200, 200]
    held = Allocation.objects.filter(returned=False).aggregate(total=Sum("units"))["total"] or 0
    remaining = StockLot.objects.filter(pk__in=[lot.pk for lot in lots]).aggregate(total=Sum("units"))["total"]
    assert held + remaining == 12
    assert held == 2 * BloodRequest.objects.filter(status="approved").count()
    assert not StockLot.objects.filter(units__lt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_whole_blood_donations_of_one_donor_record_only_one():
    hospital = HospitalFactory()
    bank = BloodBankFactory(hospital=hospital)
    manager = UserFactory(role="hospital_admin", hospital=hospital)
    donor = UserFactory(role="donor", blood_group="B-")
    clients = [client_for(manager) for _ in range(4)]

    responses = run_together(
        [lambda c=c: c.post("/api/v1/donations", {"donor_id": donor.pk, "blood_bank_id": bank.pk}) for c in clients]
    )
    statuses = [response.status_code for response in responses]

    assert sorted(statuses) == [201, 409, 409, 409]
    assert Donation.objects.filter(donor=donor).count() == 1
    assert StockLot.objects.filter(blood_bank=bank).count() == 1
