"""The demo data seeding used by `seed_demo`."""

import io

import pytest
from django.db.models import F

from hospitals.demo import seed_hospitals
from hospitals.models import Bed, Floor, Hospital, Ward

pytestmark = pytest.mark.django_db


def test_seed_hospitals_creates_two_multi_level_and_one_single_level_hospital(api):
    out = io.StringIO()
    hospitals = seed_hospitals(stdout=out)
    assert len(hospitals) == 3 and out.getvalue().count("created") == 3
    multi = [h for h in hospitals if h.is_multi_level]
    single = [h for h in hospitals if not h.is_multi_level]
    assert len(multi) == 2 and len(single) == 1
    assert sum(h.emergency_services for h in hospitals) == 2
    assert all(h.timezone == "Asia/Kolkata" and h.latitude and h.longitude for h in hospitals)
    for hospital in multi:
        assert Floor.objects.filter(hospital=hospital).count() >= 2
        assert Ward.objects.filter(hospital=hospital, floor__isnull=True).count() == 0
        assert Ward.objects.filter(hospital=hospital).values("ward_type").distinct().count() >= 3
        assert Bed.objects.filter(hospital=hospital).count() == 30
    assert not Floor.objects.filter(hospital=single[0]).exists()
    assert Bed.objects.filter(hospital=single[0]).count() == 10
    # Every bed's hospital is its ward's.
    assert not Bed.objects.exclude(hospital_id=F("ward__hospital_id")).exists()
    availability = api.get(f"/api/v1/hospitals/{multi[0].pk}/availability").json()
    assert availability["total"] == 30 and availability["by_status"]["available"] > 0


def test_seed_hospitals_is_idempotent():
    first = seed_hospitals()
    counts = (Hospital.objects.count(), Floor.objects.count(), Ward.objects.count(), Bed.objects.count())
    out = io.StringIO()
    second = seed_hospitals(stdout=out)
    assert [h.pk for h in first] == [h.pk for h in second]
    assert counts == (Hospital.objects.count(), Floor.objects.count(), Ward.objects.count(), Bed.objects.count())
    assert "0 beds added" in out.getvalue() and "created" not in out.getvalue()
