"""No input to this app's endpoints yields a 5xx: odd bodies, query strings and ids are 4xx."""

import json

import pytest

from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory

pytestmark = pytest.mark.django_db

ODD_BODIES = [
    [],
    "x",
    1,
    None,
    {"patient_id": []},
    {"patient_id": {}},
    {"to_bed_id": []},
    {"to_bed_id": 10**40},
    {"status": []},
    {"floor_number": []},
    {"hospital_id": [1]},
    {"ward_id": {"a": 1}},
    {"latitude": "1e400"},
    {"latitude": True},
    {"admin": "x"},
    {"admin": []},
    {"name": "\x00"},
    {"floor_id": -1},
    {"ward_id": 0},
    {"patient_name": "\x00abc"},
    {"reason": None},
    {"timezone": None},
    {"timezone": "x" * 70},
]
ODD_QUERIES = [
    "near=1,2&radius_km=1e308",
    "page=99999",
    "page=abc",
    "page_size=-1",
    "ordering=distance_km",
    "ordering=-distance_km&near=1,2",
    "hospital_id=99999999999999999999",
    "city=" + "x" * 200,
    "has_beds=",
    "near=",
    "near=1e308,1e308",
]


def test_odd_bodies_never_yield_5xx(admin_client, hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    urls = [
        "/api/v1/hospitals",
        f"/api/v1/hospitals/{hospital.pk}",
        f"/api/v1/hospitals/{hospital.pk}/floors",
        "/api/v1/floors",
        "/api/v1/wards",
        "/api/v1/beds",
        f"/api/v1/beds/{bed.pk}",
        f"/api/v1/beds/{bed.pk}/admit",
        f"/api/v1/beds/{admission.bed_id}/transfer",
        f"/api/v1/beds/{bed.pk}/status",
        f"/api/v1/floors/{bed.ward.floor_id}",
        f"/api/v1/wards/{bed.ward_id}",
    ]
    failures = []
    for url in urls:
        for body in ODD_BODIES:
            for method in ("post", "patch", "put"):
                response = getattr(admin_client, method)(url, json.dumps(body), content_type="application/json")
                if response.status_code >= 500:
                    failures.append((method, url, body, response.status_code))
    assert failures == []


@pytest.mark.parametrize("resource", ["hospitals", "beds", "wards", "floors", "admissions"])
def test_odd_queries_and_ids_never_yield_5xx(admin_client, hospital, resource):
    statuses = [admin_client.get(f"/api/v1/{resource}?{query}").status_code for query in ODD_QUERIES]
    statuses += [
        admin_client.get(f"/api/v1/{resource}/{pk}").status_code for pk in ("99999999999999999999", "-1", "1e3")
    ]
    assert max(statuses) < 500
