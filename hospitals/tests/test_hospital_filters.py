"""Hospital list filters: plain fields, has_beds, near + radius_km."""

import pytest

from hospitals.models import BedStatus, WardType
from hospitals.tests.factories import BedFactory, HospitalFactory, WardFactory

pytestmark = pytest.mark.django_db

# Real city centres: Pune, Mumbai (~120 km from Pune), Lonavala (~54 km from Pune as the crow flies), Delhi (~1170 km).
PUNE = (18.5204, 73.8567)
MUMBAI = (19.0760, 72.8777)
LONAVALA = (18.7546, 73.4062)
DELHI = (28.6139, 77.2090)


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def at(point, **kwargs):
    return HospitalFactory(latitude=point[0], longitude=point[1], **kwargs)


def test_filter_by_city_is_case_insensitive(api):
    pune = HospitalFactory(city="Pune")
    HospitalFactory(city="Mumbai")
    assert ids(api.get("/api/v1/hospitals?city=pune")) == [pune.pk]


def test_filter_by_hospital_type_opd_status_and_emergency_services(api):
    government = HospitalFactory(hospital_type="government", opd_status="open", emergency_services=True)
    private = HospitalFactory(hospital_type="private", opd_status="closed", emergency_services=False)
    assert ids(api.get("/api/v1/hospitals?hospital_type=private")) == [private.pk]
    assert ids(api.get("/api/v1/hospitals?opd_status=open")) == [government.pk]
    assert ids(api.get("/api/v1/hospitals?emergency_services=true")) == [government.pk]
    assert ids(api.get("/api/v1/hospitals?emergency_services=false")) == [private.pk]


@pytest.mark.parametrize(
    "query", ["hospital_type=military", "opd_status=maybe", "has_beds=spa", "emergency_services=maybe", "is_active=x"]
)
def test_unknown_choice_in_filter_is_400_naming_it(api, query):
    response = api.get(f"/api/v1/hospitals?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == query.split("=")[0]


def test_search_by_name(api):
    ruby = HospitalFactory(name="Ruby Hall Clinic")
    HospitalFactory(name="Sassoon General")
    assert ids(api.get("/api/v1/hospitals?search=ruby")) == [ruby.pk]


def test_has_beds_counts_only_available_beds_of_that_ward_type(api):
    icu_free = HospitalFactory()
    BedFactory(ward=WardFactory(hospital=icu_free, ward_type=WardType.ICU))
    icu_full = HospitalFactory()
    icu_ward = WardFactory(hospital=icu_full, ward_type=WardType.ICU)
    for status in (BedStatus.OCCUPIED, BedStatus.RESERVED, BedStatus.CLEANING, BedStatus.MAINTENANCE):
        BedFactory(ward=icu_ward, status=status)
    BedFactory(ward=WardFactory(hospital=icu_full, ward_type=WardType.GENERAL))
    no_beds = HospitalFactory()
    assert ids(api.get("/api/v1/hospitals?has_beds=icu")) == [icu_free.pk]
    assert ids(api.get("/api/v1/hospitals?has_beds=any")) == [icu_free.pk, icu_full.pk]
    assert no_beds.pk not in ids(api.get("/api/v1/hospitals?has_beds=general"))


def test_near_orders_by_distance_and_carries_distance_km(api):
    mumbai = at(MUMBAI)
    pune = at(PUNE)
    lonavala = at(LONAVALA)
    at(DELHI)
    HospitalFactory(latitude=None, longitude=None)
    response = api.get(f"/api/v1/hospitals?near={PUNE[0]},{PUNE[1]}&radius_km=200")
    assert ids(response) == [pune.pk, lonavala.pk, mumbai.pk]
    distances = [row["distance_km"] for row in response.json()["results"]]
    assert distances[0] == pytest.approx(0, abs=0.01)
    assert distances[1] == pytest.approx(54.1, abs=1)
    assert distances[2] == pytest.approx(120, abs=5)


def test_radius_km_limits_results(api):
    pune = at(PUNE)
    lonavala = at(LONAVALA)
    at(MUMBAI)
    assert ids(api.get(f"/api/v1/hospitals?near={PUNE[0]},{PUNE[1]}&radius_km=60")) == [pune.pk, lonavala.pk]
    assert ids(api.get(f"/api/v1/hospitals?near={PUNE[0]},{PUNE[1]}&radius_km=10")) == [pune.pk]


def test_near_without_radius_uses_50_km(api):
    pune = at(PUNE)
    at(LONAVALA)  # ~54 km: outside the default radius
    assert ids(api.get(f"/api/v1/hospitals?near={PUNE[0]},{PUNE[1]}")) == [pune.pk]


def test_near_combines_with_other_filters(api):
    at(PUNE, emergency_services=False)
    lonavala = at(LONAVALA, emergency_services=True)
    response = api.get(f"/api/v1/hospitals?near={PUNE[0]},{PUNE[1]}&radius_km=100&emergency_services=true")
    assert ids(response) == [lonavala.pk]


def test_near_skips_inactive_hospitals(api):
    at(PUNE, is_active=False)
    assert ids(api.get(f"/api/v1/hospitals?near={PUNE[0]},{PUNE[1]}")) == []


@pytest.mark.parametrize("near", ["abc", "18.5", "18.5,73.8,1", "91,73", "18.5,181", "nan,1", "inf,2", ",", "x,y"])
def test_bad_near_coordinates_are_400(api, near):
    at(PUNE)
    response = api.get("/api/v1/hospitals", {"near": near})
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "near"


@pytest.mark.parametrize("radius", ["0", "-5", "abc", "1e9", "nan"])
def test_bad_radius_is_400(api, radius):
    response = api.get("/api/v1/hospitals", {"near": "18.5,73.8", "radius_km": radius})
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "radius_km"


def test_radius_without_near_is_400(api):
    response = api.get("/api/v1/hospitals?radius_km=10")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "radius_km"


def test_near_works_across_the_antimeridian(api):
    fiji_west = HospitalFactory(latitude=-17.8, longitude=179.9)
    fiji_east = HospitalFactory(latitude=-17.8, longitude=-179.9)
    response = api.get("/api/v1/hospitals?near=-17.8,179.95&radius_km=50")
    assert sorted(ids(response)) == sorted([fiji_west.pk, fiji_east.pk])
