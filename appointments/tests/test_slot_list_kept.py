"""The slot list computed from kept compiled rows (hms.api.kept_lists, SlotViewSet.list with the read cache
off) answers exactly what the ORM and SlotOut answer: the same rows, counts, links and bytes over random
data (hospitals in several time zones, open/closed/cancelled slots, full ones, holds active and lapsed,
unavailable doctors, a deactivated hospital, a closed OPD), with filters, orderings and pages; a kept
shape run again later reads the rules at its own instant (a slot that started, a hold that lapsed); and
it stays within its query budget."""

import json
import random
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Hold, Slot
from appointments.serializers import SlotOut
from appointments.tests.factories import DoctorFactory, HoldFactory, SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

ZONES = ["Asia/Kolkata", "America/New_York", "Australia/Adelaide", "UTC", "Asia/Kathmandu"]


def _reference(queryset) -> list:
    """SlotOut's answer for the rows, as the JSON body carries it."""
    rows = queryset.select_related("hospital", "doctor__user").with_held()
    return json.loads(JSONRenderer().render(SlotOut(rows, many=True).data))


def _page(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    return {"count": body["count"], "results": body["results"]}


def _expected(rows: list, *, page: int = 1, size: int = 20) -> dict:
    return {"count": len(rows), "results": rows[(page - 1) * size : page * size]}


@pytest.fixture
def world():
    rng = random.Random(7)
    hospitals = [HospitalFactory(timezone=zone) for zone in ZONES]
    hospitals.append(HospitalFactory(timezone="Europe/London", is_active=False))
    hospitals.append(HospitalFactory(timezone="Asia/Dubai", opd_status="closed"))
    doctors = [
        DoctorFactory(
            hospital=rng.choice(hospitals),
            specialization=rng.choice(["Cardiology", "ENT", "50% Care"]),
            department=rng.choice(["", "OPD", "Heart & Lungs"]),
            is_available=rng.random() > 0.2,
        )
        for _ in range(10)
    ]
    patients = [UserFactory(role="user") for _ in range(4)]
    base = timezone.now().replace(microsecond=0)
    for index in range(120):
        doctor = rng.choice(doctors)
        start = base + timedelta(days=rng.randint(-3, 6), minutes=15 * rng.randint(0, 60), seconds=index)
        capacity, booked = rng.randint(1, 4), rng.randint(0, 4)
        slot = SlotFactory(
            doctor=doctor,
            start=start,
            end=start + timedelta(minutes=15),
            capacity=capacity,
            booked=min(booked, capacity),
            last_token=min(booked, capacity),
            status=rng.choice(["open", "open", "open", "closed", "cancelled"]),
        )
        free = slot.capacity - slot.booked
        for holder in rng.sample(patients, min(rng.randint(0, free), len(patients))):
            lapsed = rng.random() < 0.4
            HoldFactory(
                slot=slot,
                patient=holder,
                expires_at=base + (timedelta(minutes=-5) if lapsed else timedelta(minutes=20)),
            )
    return {"hospitals": hospitals, "doctors": doctors}


def _visible():
    return Slot.objects.filter(hospital__is_active=True)


def test_lists_equal_the_serializers_answer(world):
    client = client_for(UserFactory(role="user"))
    with time_machine.travel(timezone.now(), tick=False):
        now = timezone.now()
        bookable = _visible().filter(Slot.objects.bookable_q(now))
        for _ in range(2):  # the second time from the kept shapes
            expected = _reference(bookable.order_by("start", "id"))
            assert len(expected) > 20
            assert _page(client, "/api/v1/slots?available=true") == _expected(expected)
            assert _page(client, "/api/v1/slots?available=true&page=2&page_size=15") == _expected(
                expected, page=2, size=15
            )
            for hospital in world["hospitals"]:
                rows = _reference(bookable.filter(hospital=hospital).order_by("start", "id"))
                path = f"/api/v1/slots?available=true&hospital_id={hospital.pk}&page_size=100"
                assert _page(client, path) == _expected(rows, size=100)
            refused = _reference(_visible().exclude(Slot.objects.bookable_q(now)).order_by("start", "id"))
            assert _page(client, "/api/v1/slots?available=false&page_size=100") == _expected(refused, size=100)
            doctor = world["doctors"][0]
            rows = _reference(_visible().filter(doctor=doctor).order_by("-start", "-id"))
            assert _page(client, f"/api/v1/slots?doctor_id={doctor.pk}&ordering=-start,-id&page_size=100") == (
                _expected(rows, size=100)
            )
            rows = _reference(bookable.filter(doctor__specialization="50% Care").order_by("start", "id"))
            assert _page(client, "/api/v1/slots?available=true&specialization=50%25%20Care&page_size=100") == (
                _expected(rows, size=100)
            )
            rows = _reference(_visible().filter(status="closed").order_by("start", "id"))
            assert _page(client, "/api/v1/slots?status=closed&page_size=100") == _expected(rows, size=100)
            # The seed route lists bookable slots alone.
            assert _page(client, "/appointment/available-slots?page_size=100") == _expected(
                _reference(bookable.order_by("start", "id")), size=100
            )


def test_administrators_see_deactivated_hospitals_slots(world, admin_client):
    with time_machine.travel(timezone.now(), tick=False):
        inactive = world["hospitals"][-2]
        rows = _reference(Slot.objects.filter(hospital=inactive).order_by("start", "id"))
        for _ in range(2):
            assert _page(admin_client, f"/api/v1/slots?hospital_id={inactive.pk}&page_size=100") == _expected(
                rows, size=100
            )
            assert _page(client_for(UserFactory(role="user")), f"/api/v1/slots?hospital_id={inactive.pk}") == (
                _expected([])
            )


def test_a_kept_shape_reads_the_rules_at_its_own_instant(api, hospital):
    doctor = DoctorFactory(hospital=hospital)
    start = timezone.now().replace(microsecond=0) + timedelta(minutes=30)
    soon = SlotFactory(doctor=doctor, start=start, end=start + timedelta(minutes=15), capacity=1)
    later = SlotFactory(doctor=doctor, start=start + timedelta(hours=2), end=start + timedelta(hours=3), capacity=1)
    hold = HoldFactory(slot=later, expires_at=timezone.now() + timedelta(minutes=10))
    path = f"/api/v1/slots?available=true&hospital_id={hospital.pk}"
    body = api.get(path).json()
    assert [row["id"] for row in body["results"]] == [soon.pk] and body["count"] == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        # `soon` started; the hold on `later` lapsed: its seat is free again, with no write.
        body = api.get(path).json()
        assert [row["id"] for row in body["results"]] == [later.pk]
        assert body["results"][0]["held"] == 0 and body["results"][0]["available"] == 1
        assert body["results"][0]["is_bookable"] is True
        everything = api.get(f"/api/v1/slots?hospital_id={hospital.pk}").json()["results"]
        assert {row["id"]: row["is_bookable"] for row in everything} == {soon.pk: False, later.pk: True}
    assert Hold.objects.get(pk=hold.pk).status == Hold.Status.ACTIVE  # a read changes nothing


def test_pages_links_and_refusals_are_the_paginators(api, hospital):
    doctor = DoctorFactory(hospital=hospital)
    for index in range(5):
        SlotFactory(doctor=doctor, start=timezone.now() + timedelta(days=1, minutes=15 * index))
    for _ in range(2):
        body = api.get(f"/api/v1/slots?hospital_id={hospital.pk}&page_size=2&page=2").json()
        assert body["count"] == 5 and len(body["results"]) == 2
        assert body["next"] == f"http://testserver/api/v1/slots?hospital_id={hospital.pk}&page=3&page_size=2"
        assert body["previous"] == f"http://testserver/api/v1/slots?hospital_id={hospital.pk}&page_size=2"
        last = api.get(f"/api/v1/slots?hospital_id={hospital.pk}&page_size=2&page=3").json()
        assert last["count"] == 5 and len(last["results"]) == 1 and last["next"] is None
        for page in (0, 4):
            response = api.get(f"/api/v1/slots?hospital_id={hospital.pk}&page_size=2&page={page}")
            assert response.status_code == 404
            assert response.json()["errors"][0]["detail"] == "Invalid page."
        for bad, attr in (("available=maybe", "available"), ("hospital_id=x", "hospital_id"), ("page=x", "page")):
            response = api.get(f"/api/v1/slots?{bad}")
            assert response.status_code == 400 and response.json()["errors"][0]["attr"] == attr


def test_a_new_slot_shows_in_a_kept_shape_at_once(api, hospital):
    doctor = DoctorFactory(hospital=hospital)
    path = f"/api/v1/slots?available=true&hospital_id={hospital.pk}"
    assert api.get(path).json()["count"] == 0
    slot = SlotFactory(doctor=doctor)
    assert [row["id"] for row in api.get(path).json()["results"]] == [slot.pk]


def test_a_page_costs_one_query_and_a_full_page_two(api, hospital, django_assert_max_num_queries):
    doctor = DoctorFactory(hospital=hospital)
    for index in range(25):
        SlotFactory(doctor=doctor, start=timezone.now() + timedelta(days=1, minutes=15 * index))
    path = f"/api/v1/slots?available=true&hospital_id={hospital.pk}"
    api.get(path)  # compiles and keeps the shape
    with django_assert_max_num_queries(2):  # the page, the count
        assert api.get(path).json()["count"] == 25
    with CaptureQueriesContext(connection) as queries:
        assert len(api.get(path + "&page=2").json()["results"]) == 5
    assert len(queries) == 1  # a page that is not full holds the rest: no count
