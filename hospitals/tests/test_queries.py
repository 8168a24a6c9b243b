"""Every list endpoint answers in a fixed number of SQL queries, however many rows there are."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hospitals.models import Bed, BedStatus, BedType, WardType
from hospitals.tests.factories import (
    AdmissionFactory,
    BedFactory,
    FloorFactory,
    HospitalFactory,
    UserFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db

# Authentication (user + revoked-token check), count, page, and one prefetch at most; an N+1 over the
# 25+ rows below would blow well past it.
BUDGET = 5
ROWS = 25


@pytest.fixture
def busy_hospital(hospital):
    """A hospital with many floors, wards, beds and active admissions."""
    for index in range(ROWS):
        ward = WardFactory(
            hospital=hospital, floor=FloorFactory(hospital=hospital), ward_type=WardType.values[index % 10]
        )
        bed = BedFactory(ward=ward)
        if index % 2:
            AdmissionFactory(bed=bed)
        else:
            BedFactory(ward=ward, status=BedStatus.CLEANING)
    return hospital


@pytest.fixture
def many_hospitals(db):
    return HospitalFactory.create_batch(ROWS)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/hospitals?page_size=100",
        "/api/v1/hospitals?near=18.52,73.85&radius_km=10&page_size=100",
        "/api/v1/hospitals?has_beds=any&emergency_services=true&page_size=100",
        "/api/v1/hospitals?has_bed_type=general&page_size=100",
        "/hospital/all",
    ],
)
def test_hospital_lists_use_fixed_queries(api, busy_hospital, many_hospitals, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(BUDGET):
        response = api.get(url)
    assert response.status_code == 200
    assert response.json()["count"] >= 1


@pytest.mark.parametrize("client_name", ["api", "admin_client", "doctor_client", "patient_client"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/floors?page_size=100",
        "/api/v1/wards?page_size=100",
        "/api/v1/beds?page_size=100",
        "/api/v1/beds?ward_type=general&status=available",
        "/api/v1/hospitals/{hospital}/floors?page_size=100",
        "/hospital/{hospital}/floors",
    ],
)
def test_structure_lists_use_fixed_queries(request, client_name, path, busy_hospital, django_assert_max_num_queries):
    client = request.getfixturevalue(client_name)
    with django_assert_max_num_queries(BUDGET):
        response = client.get(path.format(hospital=busy_hospital.pk))
    assert response.status_code == 200
    assert response.json()["count"] >= 1


def test_bed_list_with_admissions_shown_to_staff_uses_fixed_queries(
    doctor_client, busy_hospital, django_assert_max_num_queries
):
    with django_assert_max_num_queries(BUDGET):
        response = doctor_client.get("/api/v1/beds?page_size=100&status=occupied")
    rows = response.json()["results"]
    assert len(rows) >= ROWS // 2 and all(row["current_admission"] for row in rows)


def test_bed_list_with_reservations_shown_to_staff_uses_fixed_queries(
    doctor_client, busy_hospital, django_assert_max_num_queries
):
    until = timezone.now() + timedelta(hours=1)
    for bed in Bed.objects.filter(hospital=busy_hospital, status=BedStatus.AVAILABLE):
        Bed.objects.filter(pk=bed.pk).update(
            status=BedStatus.RESERVED, reserved_for=UserFactory(role="user"), reserved_until=until
        )
    with django_assert_max_num_queries(BUDGET):
        response = doctor_client.get("/api/v1/beds?page_size=100&status=reserved&bed_type=general")
    rows = response.json()["results"]
    assert len(rows) >= ROWS // 2 and all(row["reservation"]["patient_id"] for row in rows)


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "doctor_client"])
def test_admission_list_uses_fixed_queries(request, client_name, busy_hospital, django_assert_max_num_queries):
    client = request.getfixturevalue(client_name)
    with django_assert_max_num_queries(BUDGET):
        response = client.get("/api/v1/admissions?page_size=100")
    assert response.status_code == 200 and response.json()["count"] >= ROWS // 2


def test_hospital_detail_with_bed_summary_uses_fixed_queries(api, busy_hospital, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = api.get(f"/api/v1/hospitals/{busy_hospital.pk}")
    assert response.json()["bed_summary"]["total"] > ROWS


def _hospital_with_beds(count: int, wards: int):
    """A hospital whose `count` beds spread over `wards` wards of several ward types, every bed type and
    several statuses (some reserved until later, some with a lapsed reservation)."""
    hospital = HospitalFactory()
    ward_rows = [
        WardFactory(hospital=hospital, ward_type=WardType.values[index % len(WardType.values)])
        for index in range(wards)
    ]
    now, patient = timezone.now(), UserFactory(role="user")
    statuses = [BedStatus.AVAILABLE, BedStatus.RESERVED, BedStatus.CLEANING, BedStatus.MAINTENANCE]
    beds = []
    for index in range(count):
        status = statuses[index % len(statuses)]
        reservation = {}
        if status == BedStatus.RESERVED and index % 8 == 1:  # the others: the manual `reserved`
            reservation = {"reserved_for": patient, "reserved_until": now + timedelta(hours=2)}
        elif status == BedStatus.RESERVED and index % 16 == 5:
            reservation = {"reserved_for": patient, "reserved_until": now - timedelta(hours=2)}  # lapsed
        beds.append(
            Bed(
                ward=ward_rows[index % wards],
                hospital=hospital,
                bed_number=f"F{index}",
                bed_type=BedType.values[index % len(BedType.values)],
                status=status,
                **reservation,
            )
        )
    Bed.objects.bulk_create(beds)
    return hospital


@pytest.mark.parametrize("client_name", ["api", "admin_client"])
@pytest.mark.parametrize("path", ["/api/v1/hospitals/{id}/availability", "/api/v1/hospitals/{id}"])
def test_availability_by_bed_type_costs_the_same_queries_for_5_or_300_beds(request, client_name, path):
    client = request.getfixturevalue(client_name)
    small, large = _hospital_with_beds(5, wards=1), _hospital_with_beds(300, wards=12)
    counts = {}
    for hospital in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path.format(id=hospital.pk))
        assert response.status_code == 200
        body = response.json()
        summary = body.get("bed_summary", body)
        assert summary["total"] == Bed.objects.filter(hospital=hospital).count()
        assert sum(counts["total"] for counts in summary["by_bed_type"].values()) == summary["total"]
        counts[hospital.pk] = len(queries)
    assert counts[small.pk] == counts[large.pk], counts
