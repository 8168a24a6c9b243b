"""`GET /hospitals?near=` (with `radius_km` and a page, nothing else) is read as plain rows compiled once
for the page and its count (hospitals.views.hospitals): its answers are those of the plain ORM queryset
(geo.nearest over the active hospitals) through HospitalOut, on random data, for every caller, in a
pinned number of queries; refused values and pages past the end answer as the generic list does."""

import json
import random
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from conftest import client_for
from hospitals import geo, serializers
from hospitals.models import Hospital
from hospitals.tests.factories import HospitalFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/hospitals"
CENTRES = [(18.52, 73.85), (-17.8, 179.95), (0.0, 0.0)]


@pytest.fixture
def random_hospitals(db):
    """Hospitals scattered around three points (one across the antimeridian), some deactivated, some at
    exactly the same place (ties broken by id), with random texts and flags."""
    rng = random.Random(77)
    hospitals = []
    for lat, lng in CENTRES:
        for number in range(14):
            spot = (lat, lng) if number < 2 else (lat + rng.uniform(-0.6, 0.6), lng + rng.uniform(-0.6, 0.6))
            longitude = spot[1] - 360 if spot[1] > 180 else spot[1]
            hospitals.append(
                HospitalFactory(
                    latitude=round(spot[0], 6),
                    longitude=round(longitude, 6),
                    is_active=rng.random() > 0.2,
                    emergency_services=rng.random() > 0.5,
                    opd_status=rng.choice(Hospital.OpdStatus.values),
                    email=rng.choice(["", "desk@example.org"]),
                    postal_code=rng.choice(["", "411001"]),
                )
            )
    return hospitals


def _client(who: str):
    if who == "anonymous":
        return APIClient()
    return client_for(UserFactory(role="admin", is_staff=True) if who == "admin" else UserFactory())


def _reference(lat: float, lng: float, radius_km: float, page: int, size: int) -> dict:
    nearest = geo.nearest(Hospital.objects.filter(is_active=True), lat, lng, radius_km=radius_km)
    rows = serializers.HospitalOut(nearest[(page - 1) * size : page * size], many=True).data
    return {"count": nearest.count(), "results": json.loads(JSONRenderer().render(rows))}


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
def test_near_pages_match_the_plain_orm_reference(random_hospitals, who, django_assert_max_num_queries):
    client = _client(who)
    seen = 0
    for lat, lng in CENTRES:
        for radius in (None, "5", "45.5", "80"):
            for page, size in ((1, 20), (1, 5), (2, 5), (3, 4)):
                params = {"near": f"{lat},{lng}"}
                if radius is not None:
                    params["radius_km"] = radius
                if (page, size) != (1, 20):
                    params |= {"page": page, "page_size": size}
                reference = _reference(lat, lng, float(radius or geo.DEFAULT_RADIUS_KM), page, size)
                # The caller (when signed in), the count, the page.
                with django_assert_max_num_queries(3 if who != "anonymous" else 2):
                    response = client.get(URL, params)
                if page > 1 and not reference["results"]:
                    assert response.status_code == 404
                    continue
                assert response.status_code == 200
                body = response.json()
                assert {"count": body["count"], "results": body["results"]} == reference
                seen += len(body["results"])
    assert seen > 50


def test_near_links_match_the_generic_list(random_hospitals, api):
    lat, lng = CENTRES[0]
    for page in (1, 2, 3):
        params = {"near": f"{lat},{lng}", "radius_km": "100", "page": page, "page_size": 4}
        fast = api.get(URL, params)
        # A search that matches every hospital takes the generic list.
        generic = api.get(URL, {**params, "search": ""})
        assert fast.status_code == generic.status_code == 200
        assert fast.json()["results"] == generic.json()["results"]
        assert fast.json()["count"] == generic.json()["count"]
        for link in ("next", "previous"):
            mine, theirs = fast.json()[link], generic.json()[link]
            assert (mine is None) == (theirs is None)
            if mine is not None:  # the same page and filters (parse_qs leaves the empty search out)
                assert parse_qs(urlsplit(mine).query) == parse_qs(urlsplit(theirs).query)
        assert (fast.json()["next"] is None) == (page * 4 >= fast.json()["count"])


@pytest.mark.parametrize(
    "params, attr",
    [
        ({"near": " "}, "near"),
        ({"near": "18.5,73.8", "radius_km": ""}, "radius_km"),
        ({"near": "18.5,73.8", "radius_km": "0"}, "radius_km"),
        ({"near": "18.5,73.8", "radius_km": "abc"}, "radius_km"),
        ({"near": "18.5,73.8", "page": "x"}, "page"),
        ({"near": "91,73.8"}, "near"),
    ],
)
def test_refused_near_values_are_the_generic_400(api, db, params, attr):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr


def test_near_page_past_the_end_is_404(random_hospitals, api):
    response = api.get(URL, {"near": "18.52,73.85", "page": 50})
    assert response.status_code == 404


def test_near_with_repeated_values_answers_as_the_generic_list(random_hospitals, api):
    response = api.get(f"{URL}?near=0,0&near=18.52,73.85")
    reference = _reference(18.52, 73.85, geo.DEFAULT_RADIUS_KM, 1, 20)
    assert response.status_code == 200
    assert response.json()["results"] == reference["results"]


def test_near_pages_kept_on_the_read_cache_are_the_computed_ones(random_hospitals, api, settings):
    paths = [f"{URL}?near=18.52,73.85", f"{URL}?near=-17.8,179.95&radius_km=80&page=2&page_size=3"]
    settings.READ_CACHE_SECONDS = 0
    computed = [api.get(path).content for path in paths]
    settings.READ_CACHE_SECONDS = 60
    for _ in range(2):  # stored, then served from the cache
        assert [api.get(path).content for path in paths] == computed
    assert json.loads(computed[1])["previous"] is not None and json.loads(computed[0])["count"] > 0


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_random_points_through_kept_shapes_match_the_reference(random_hospitals, who):
    """Searches compiled once per shape of the bounding box (hospitals.selectors.KeptNearRows) and run
    again with other points and radii: poles, the antimeridian, (0, 0) (where two values coincide) and
    radii from a street to half the Earth."""
    from hospitals.views.hospitals import _NEAR_ROWS

    client = _client(who)
    rng = random.Random(11)
    centres = [*CENTRES, (90.0, 10.0), (-90.0, -10.0), (89.99, 179.99), (0.0, 180.0), (0.0, -180.0)]
    for _ in range(60):
        lat, lng = rng.choice(centres)
        lat = max(-90.0, min(90.0, round(lat + rng.uniform(-0.3, 0.3), 6)))
        lng = max(-180.0, min(180.0, round(lng + rng.uniform(-0.3, 0.3), 6)))
        if rng.random() < 0.2:
            lat, lng = rng.choice(centres)
        radius = rng.choice(["0.5", "20", "75", "3000", "20038"])
        response = client.get(URL, {"near": f"{lat},{lng}", "radius_km": radius, "page_size": 100})
        assert response.status_code == 200
        body = response.json()
        assert {"count": body["count"], "results": body["results"]} == _reference(lat, lng, float(radius), 1, 100)
    assert _NEAR_ROWS.kept  # shapes were kept and reused


def test_a_kept_shape_runs_again_without_building_the_query(random_hospitals, api, monkeypatch):
    api.get(URL, {"near": "18.52,73.85", "radius_km": "40"})  # compiled (and its shape learnt)
    built = []
    nearest = geo.nearest
    monkeypatch.setattr(geo, "nearest", lambda *args, **kwargs: built.append(args) or nearest(*args, **kwargs))
    response = api.get(URL, {"near": "18.61,73.72", "radius_km": "35"})
    assert response.status_code == 200 and built == []
    body = response.json()
    assert {"count": body["count"], "results": body["results"]} == _reference(18.61, 73.72, 35.0, 1, 20)
