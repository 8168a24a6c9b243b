"""The emergency list's plain pages (emergency.views: rows compiled once per caller's visibility, written
without a serializer per row) give the answers of a plain ORM + EmergencyOut reference on random data,
for every role, in a pinned number of queries; a page past the end is still the paginator's 404."""

import datetime
import json
import random

import pytest
from django.db.models import Q
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.tests.factories import HospitalFactory, UserFactory
from conftest import client_for
from emergency import serializers
from emergency.models import Emergency, EmergencyEvent
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/emergencies"


@pytest.fixture
def world(db):
    """Two hospitals with staff and drivers, ambulances (one without a driver), and 45 emergencies with
    random reporters, hospitals (none for some), ambulances, statuses, coordinates, texts, creation
    times (ties included) and events."""
    rng = random.Random(2103)
    hospitals = [HospitalFactory(), HospitalFactory()]
    people = {
        "admin": UserFactory(role="admin", is_staff=True),
        "hospital_admin": UserFactory(role="hospital_admin", hospital=hospitals[0]),
        "doctor": UserFactory(role="doctor", hospital=hospitals[1]),
        "driver": UserFactory(role="ambulance_driver", hospital=hospitals[0]),
        "patient": UserFactory(role="user"),
        "donor": UserFactory(role="donor", blood_group="O+"),
    }
    ambulances = [
        AmbulanceFactory(hospital=hospitals[0], driver=people["driver"], latitude=18.5, longitude=73.8),
        AmbulanceFactory(hospital=hospitals[0]),
        AmbulanceFactory(hospital=hospitals[1], location_updated_at=timezone.now(), latitude=1.25, longitude=2.5),
    ]
    base = timezone.now().replace(microsecond=123456)
    for number in range(45):
        reporter = rng.choice([None, people["patient"], people["donor"], people["hospital_admin"]])
        hospital = rng.choice([*hospitals, None])
        located = hospital is not None or rng.random() < 0.5
        emergency = EmergencyFactory(
            reporter=reporter,
            hospital=hospital,
            patient_name=rng.choice(["", "Asha", "Ravi \u00e9\u00e8"]),
            severity=rng.choice(Emergency.Severity.values),
            emergency_type=rng.choice(Emergency.EmergencyType.values),
            description=rng.choice(["", "Fell down", "x" * 300]),
            address=rng.choice(["MG Road, Pune", "Near the \u201cold\u201d market"]),
            latitude=rng.uniform(-89, 89) if located else None,
            longitude=rng.uniform(-179, 179) if located else None,
        )
        if number < len(ambulances):  # an ambulance serves one open emergency at most
            status, ambulance = "en_route", ambulances[number]
        else:
            status = rng.choice(["reported", "resolved", "cancelled"])
            ambulance = None if status == "reported" else rng.choice([None, *ambulances])
        created = base - datetime.timedelta(minutes=rng.choice([0, 1, 1, 2, 5, 30, 600]))
        Emergency.objects.filter(pk=emergency.pk).update(status=status, ambulance=ambulance, created_at=created)
        for _ in range(rng.randint(0, 3)):
            EmergencyEvent.objects.create(
                emergency=emergency,
                status=rng.choice(Emergency.Status.values),
                note=rng.choice(["", "called back"]),
                actor=rng.choice([None, people["admin"]]),
                at=base - datetime.timedelta(seconds=rng.choice([0, 0, 10, 100])),
                from_hospital=rng.choice([None, hospitals[0]]),
                to_hospital=rng.choice([None, hospitals[1]]),
            )
    return people


def _visible(user) -> Q:
    """Who sees an emergency (API.md section 8), written out here for the reference."""
    if user.role == "admin":
        return Q()
    seen = Q(reporter=user)
    if user.role in ("hospital_admin", "doctor", "ambulance_driver"):
        seen |= Q(hospital_id=user.hospital_id)
    if user.role == "ambulance_driver":
        seen |= Q(ambulance__driver=user)
    return seen


def _reference(user, page: int, size: int) -> dict:
    emergencies = (
        Emergency.objects.filter(_visible(user))
        .select_related("hospital", "ambulance")
        .prefetch_related("events")
        .order_by("-created_at", "-id")
    )
    count = emergencies.count()
    rows = serializers.EmergencyOut(emergencies[(page - 1) * size : page * size], many=True).data
    return {"count": count, "results": json.loads(JSONRenderer().render(rows))}


@pytest.mark.parametrize("who", ["admin", "hospital_admin", "doctor", "driver", "patient", "donor"])
def test_plain_pages_match_the_plain_orm_reference(world, who, django_assert_max_num_queries):
    user = world[who]
    client = client_for(user)
    total = Emergency.objects.filter(_visible(user)).count()
    assert total > 0 or who == "doctor"
    for page, size in [(1, 20), (2, 20), (1, 100), (2, 7), (3, 7), (1, 1)]:
        if page > 1 and (page - 1) * size >= total:
            continue
        params = {"page": page, "page_size": size} if (page, size) != (1, 20) else {}
        for _ in range(2):  # compiled, then the kept shape
            # The caller, the count, the page, its events.
            with django_assert_max_num_queries(4):
                response = client.get(URL, params)
            assert response.status_code == 200
            body = response.json()
            assert {"count": body["count"], "results": body["results"]} == _reference(user, page, size)


def test_plain_page_links_and_the_generic_list_agree(world):
    client = client_for(world["admin"])
    for page in (1, 2, 3):
        fast = client.get(URL, {"page": page, "page_size": 20})
        generic = client.get(URL, {"page": page, "page_size": 20, "ordering": "-created_at,-id"})
        assert fast.status_code == generic.status_code == 200
        assert fast.json()["results"] == generic.json()["results"]
        assert fast.json()["count"] == generic.json()["count"] == 45
        assert (fast.json()["next"] is None) == (page == 3)
        assert (fast.json()["previous"] is None) == (page == 1)


def test_plain_page_past_the_end_is_404_as_before(world):
    client = client_for(world["patient"])
    total = Emergency.objects.filter(reporter=world["patient"]).count()
    response = client.get(URL, {"page": total // 20 + 2})
    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "Invalid page."


def test_empty_list_is_an_empty_first_page(db):
    response = client_for(UserFactory(role="user")).get(URL)
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_plain_page_is_scoped_to_the_caller_not_to_an_earlier_caller(world):
    """Kept shapes are per caller: a patient's page after a hospital admin's shows the patient's rows only."""
    client_for(world["hospital_admin"]).get(URL)
    other = UserFactory(role="user")
    EmergencyFactory(reporter=other, hospital=None, latitude=None, longitude=None)
    body = client_for(other).get(URL).json()
    assert body["count"] == 1 and body["results"][0]["reporter_id"] == other.pk


def test_csv_export_still_streams_the_filtered_list(world):
    response = client_for(world["admin"]).get(URL, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


FILTERS = [
    {"is_open": "true"},
    {"is_open": "false", "severity": "high"},
    {"status": "resolved", "ordering": "severity,-id"},
    {"unassigned": "true"},
    {"emergency_type": "cardiac", "page_size": 5},
    {"search": "asha"},
    {"search": "old", "ordering": "-updated_at,id"},
    {"ordering": "id", "page": 2, "page_size": 10},
    {"ordering": "-status,-id", "page_size": 100},
    {"hospital_id": "HOSPITAL"},
    {"created_after": "CREATED_AFTER", "ordering": "created_at,id"},
]


def _reference_filtered(user, params: dict) -> dict:
    """EmergencyOut over django-filter's EmergencyFilter, then the search and ordering written out here."""
    from emergency.filters import EmergencyFilter

    data = {name: value for name, value in params.items() if name not in ("search", "ordering", "page", "page_size")}
    emergencies = EmergencyFilter(data, queryset=Emergency.objects.filter(_visible(user))).qs
    if "search" in params:
        term = params["search"]
        emergencies = emergencies.filter(
            Q(patient_name__icontains=term) | Q(contact_number__icontains=term) | Q(address__icontains=term)
        )
    emergencies = emergencies.order_by(*params.get("ordering", "-created_at,-id").split(","))
    page, size = int(params.get("page", 1)), int(params.get("page_size", 20))
    rows = serializers.EmergencyOut(
        emergencies.select_related("hospital", "ambulance").prefetch_related("events")[(page - 1) * size : page * size],
        many=True,
    ).data
    return {"count": emergencies.count(), "results": json.loads(JSONRenderer().render(rows))}


@pytest.mark.parametrize("who", ["admin", "hospital_admin", "driver", "patient"])
def test_filtered_pages_match_the_plain_orm_reference(world, who, django_assert_max_num_queries):
    user = world[who]
    client = client_for(user)
    some = Emergency.objects.filter(_visible(user)).order_by("id")
    hospital_id = some.exclude(hospital=None).values_list("hospital_id", flat=True).first()
    created_after = some.order_by("created_at").values_list("created_at", flat=True)[len(some) // 2]
    matched = 0
    for filters in FILTERS:
        params = {
            name: {"HOSPITAL": hospital_id, "CREATED_AFTER": created_after.isoformat()}.get(value, value)
            for name, value in filters.items()
        }
        reference = _reference_filtered(user, params)
        with django_assert_max_num_queries(4):
            response = client.get(URL, params)
        if params.get("page", 1) > 1 and not reference["results"]:
            assert response.status_code == 404
            continue
        assert response.status_code == 200, response.content
        body = response.json()
        assert {"count": body["count"], "results": body["results"]} == reference, params
        matched += body["count"]
    assert matched > 0


def test_refused_filter_values_are_still_400(world):
    client = client_for(world["admin"])
    assert client.get(URL, {"status": "lost"}).status_code == 400
    assert client.get(URL, {"is_open": "maybe"}).status_code == 400
    assert client.get(URL, {"created_after": "yesterday"}).status_code == 400
    assert client.get(URL, {"is_open": "true", "page": "x"}).status_code == 400
    assert client.get(URL, {"is_open": "true", "page": 99}).status_code == 404
