"""Availability and the hospital detail, read by one hand-written statement (hospitals.bed_counts),
give the answers of a plain ORM + serializer reference on random data, in a pinned number of queries."""

import json
import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from conftest import client_for
from hospitals import serializers
from hospitals.models import Bed, BedStatus, BedType, Hospital, WardType
from hospitals.tests.factories import BedFactory, HospitalFactory, UserFactory, WardFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=123456)


def _reference_summary(hospital: Hospital, now) -> dict:
    """BedSummaryOut from the bed rows one by one (the model's own `shown_status_at`), no aggregate."""
    by_status = dict.fromkeys(BedStatus.values, 0)
    by_ward_type = {ward_type: {"total": 0, **by_status} for ward_type in WardType.values}
    counters = {
        "free": BedStatus.AVAILABLE,
        "occupied": "occupied",
        "reserved": "reserved",
        "maintenance": "maintenance",
    }
    by_bed_type = {bed_type: {"total": 0, **dict.fromkeys(counters, 0)} for bed_type in BedType.values}
    beds = list(Bed.objects.filter(hospital=hospital).select_related("ward"))
    for bed in beds:
        status = bed.shown_status_at(now)
        by_status[status] += 1
        by_ward_type[bed.ward.ward_type]["total"] += 1
        by_ward_type[bed.ward.ward_type][status] += 1
        by_bed_type[bed.bed_type]["total"] += 1
        for counter, counted in counters.items():
            if status == counted:
                by_bed_type[bed.bed_type][counter] += 1
    return {
        "hospital_id": hospital.pk,
        "as_of": now,
        "total": len(beds),
        "by_status": by_status,
        "by_ward_type": by_ward_type,
        "by_bed_type": by_bed_type,
    }


def _json(data) -> object:
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def random_hospitals(db):
    """Hospitals (one deactivated, one without beds) with wards of random types and beds of random types
    and statuses: reservations lapsed, ahead, and manual (held for nobody)."""
    rng = random.Random(2020)
    hospitals = HospitalFactory.create_batch(4) + [HospitalFactory(is_active=False), HospitalFactory()]
    patient = UserFactory()
    for hospital in hospitals[:5]:
        for _ in range(rng.randint(1, 4)):
            ward = WardFactory(hospital=hospital, ward_type=rng.choice(WardType.values))
            for _ in range(rng.randint(0, 12)):
                status = rng.choice(BedStatus.values)
                fields = {"status": status, "bed_type": rng.choice(BedType.values)}
                if status == BedStatus.RESERVED and rng.random() < 0.7:
                    until = NOW + timedelta(minutes=rng.choice([-90, -1, 0, 1, 90]))
                    fields.update(reserved_for=patient, reserved_until=until, reservation_reason="transfer")
                BedFactory(ward=ward, **fields)
    return hospitals


@pytest.fixture
def callers(db):
    return {
        "anonymous": None,
        "patient": UserFactory(role="user"),
        "admin": UserFactory(role="admin", is_staff=True),
    }


def _client(user):
    if user is None:
        from rest_framework.test import APIClient

        return APIClient()
    return client_for(user)


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
def test_availability_matches_plain_orm_reference(random_hospitals, callers, who, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        client = _client(callers[who])  # a token issued at the frozen time
        for hospital in random_hospitals:
            with django_assert_max_num_queries(2):  # the caller's account, then one statement
                response = client.get(f"/api/v1/hospitals/{hospital.pk}/availability")
            if not hospital.is_active and who != "admin":
                assert response.status_code == 404
                assert response.json()["errors"][0]["code"] == "not_found"
                continue
            assert response.status_code == 200, response.content
            assert response.json() == _json(_reference_summary(hospital, NOW))


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
def test_hospital_detail_matches_serializer_reference(random_hospitals, callers, who, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        client = _client(callers[who])  # a token issued at the frozen time
        for hospital in random_hospitals:
            with django_assert_max_num_queries(2):
                response = client.get(f"/api/v1/hospitals/{hospital.pk}")
            if not hospital.is_active and who != "admin":
                assert response.status_code == 404
                continue
            assert response.status_code == 200, response.content
            hospital.refresh_from_db()
            expected = {**serializers.HospitalOut(hospital).data, "bed_summary": _reference_summary(hospital, NOW)}
            body = response.json()
            assert list(body) == list(serializers.HospitalDetailOut.Meta.fields)
            assert body == _json(expected)


def test_anonymous_availability_is_one_query(random_hospitals, api, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert api.get(f"/api/v1/hospitals/{random_hospitals[0].pk}/availability").status_code == 200


@pytest.mark.parametrize("pk", ["0", "-3", "abc", "99999999999999999999999", "9223372036854775807"])
def test_ids_no_row_can_have_answer_404(api, pk):
    for path in (f"/api/v1/hospitals/{pk}", f"/api/v1/hospitals/{pk}/availability"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
@pytest.mark.parametrize("path", ["/api/v1/hospitals?page_size=100", "/hospital/all"])
def test_hospital_lists_match_the_serializer(random_hospitals, callers, who, path, django_assert_max_num_queries):
    client = _client(callers[who])
    with django_assert_max_num_queries(2 if who != "anonymous" else 1):  # the page and its count: one query
        response = client.get(path)
    assert response.status_code == 200, response.content
    active = Hospital.objects.filter(is_active=True).order_by("id")  # every caller, unless is_active=false
    assert response.json()["results"] == _json(serializers.HospitalOut(active, many=True).data)
    assert response.json()["count"] == active.count()


def test_hospital_list_pages_match_the_generic_list(random_hospitals, api):
    active = list(Hospital.objects.filter(is_active=True).order_by("id"))
    body = api.get("/api/v1/hospitals?page=2&page_size=2").json()
    assert body["count"] == len(active)
    assert [row["id"] for row in body["results"]] == [hospital.pk for hospital in active[2:4]]
    assert body["previous"].endswith("/api/v1/hospitals?page_size=2")
    assert body["next"] is None if len(active) <= 4 else body["next"].endswith("page=3&page_size=2")
    assert api.get("/api/v1/hospitals?page=9").status_code == 404
    assert api.get("/api/v1/hospitals?page=-1").status_code == 400
    # A filter takes the generic list (the deactivated one for an administrator only).
    assert api.get("/api/v1/hospitals?is_active=false").json()["count"] == 0
    assert api.get(f"/api/v1/hospitals?city={active[0].city}").status_code == 200


def test_empty_hospital_list_is_an_empty_first_page(api, db):
    assert api.get("/hospital/all").json() == {"count": 0, "next": None, "previous": None, "results": []}
