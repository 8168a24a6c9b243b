"""Bed types: on beds (input and output), counted in availability, and the has_bed_type filter."""

import pytest

from feed.models import PendingEvent
from hospitals.demo import seed_hospitals
from hospitals.models import Bed, BedStatus, BedType, WardType
from hospitals.tests.factories import AdmissionFactory, BedFactory, HospitalFactory, WardFactory

pytestmark = pytest.mark.django_db

ZERO = {"total": 0, "free": 0, "occupied": 0, "reserved": 0, "maintenance": 0}


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def error(response):
    return response.json()["errors"][0]


# --- On beds ----------------------------------------------------------------------------------


def test_bed_created_with_a_bed_type_shows_it(hospital_admin_client, hospital):
    ward = WardFactory(hospital=hospital)
    response = hospital_admin_client.post(
        "/api/v1/beds", {"ward_id": ward.pk, "bed_number": "O-1", "bed_type": "oxygen"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["bed_type"] == "oxygen"
    assert Bed.objects.get(pk=response.json()["id"]).bed_type == BedType.OXYGEN


def test_bed_type_defaults_to_general(hospital_admin_client, hospital):
    ward = WardFactory(hospital=hospital)
    response = hospital_admin_client.post("/api/v1/beds", {"ward_id": ward.pk, "bed_number": "G-1"}, format="json")
    assert response.status_code == 201 and response.json()["bed_type"] == "general"


def test_unknown_bed_type_is_400_on_the_field(hospital_admin_client, hospital):
    ward = WardFactory(hospital=hospital)
    response = hospital_admin_client.post(
        "/api/v1/beds", {"ward_id": ward.pk, "bed_number": "X-1", "bed_type": "hammock"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["attr"] == "bed_type" and error(response)["code"] == "invalid_choice"
    assert not Bed.objects.exists()


def test_bed_type_changes_by_patch_and_emits_the_beds_topic(hospital_admin_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    response = hospital_admin_client.patch(f"/api/v1/beds/{bed.pk}", {"bed_type": "ventilator"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["bed_type"] == "ventilator"
    bed.refresh_from_db()
    assert bed.bed_type == BedType.VENTILATOR
    event = PendingEvent.objects.filter(topic=f"hospital.{hospital.pk}.beds").last()
    assert event.data["by_bed_type"]["ventilator"]["total"] == 1


def test_another_hospitals_admin_cannot_change_a_bed_type(other_hospital_admin_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    response = other_hospital_admin_client.patch(f"/api/v1/beds/{bed.pk}", {"bed_type": "icu"}, format="json")
    assert response.status_code == 403
    bed.refresh_from_db()
    assert bed.bed_type == BedType.GENERAL


def test_bed_list_filters_by_bed_type(api, hospital):
    ward = WardFactory(hospital=hospital)
    icu = BedFactory(ward=ward, bed_type=BedType.ICU)
    BedFactory(ward=ward)
    assert ids(api.get("/api/v1/beds?bed_type=icu")) == [icu.pk]
    assert api.get("/api/v1/beds?bed_type=hammock").status_code == 400


# --- Availability -----------------------------------------------------------------------------


def test_availability_counts_every_bed_type_with_zeros(api, hospital):
    # An ICU-type bed in a general ward: ward type and bed type are counted apart.
    general = WardFactory(hospital=hospital, ward_type=WardType.GENERAL)
    icu = WardFactory(hospital=hospital, ward_type=WardType.ICU)
    BedFactory.create_batch(2, ward=icu, bed_type=BedType.ICU)
    BedFactory(ward=icu, bed_type=BedType.ICU, status=BedStatus.MAINTENANCE)
    AdmissionFactory(bed=BedFactory(ward=general, bed_type=BedType.ICU))
    BedFactory(ward=general, bed_type=BedType.OXYGEN, status=BedStatus.RESERVED)
    BedFactory(ward=general, bed_type=BedType.OXYGEN, status=BedStatus.CLEANING)
    BedFactory(ward=general)
    BedFactory(ward=WardFactory(), bed_type=BedType.ICU)  # another hospital's

    summary = api.get(f"/api/v1/hospitals/{hospital.pk}/availability").json()
    by_bed_type = summary["by_bed_type"]
    assert set(by_bed_type) == set(BedType.values)
    assert by_bed_type["icu"] == {"total": 4, "free": 2, "occupied": 1, "reserved": 0, "maintenance": 1}
    # A cleaning bed is in the total only.
    assert by_bed_type["oxygen"] == {"total": 2, "free": 0, "occupied": 0, "reserved": 1, "maintenance": 0}
    assert by_bed_type["general"] == {**ZERO, "total": 1, "free": 1}
    assert by_bed_type["ventilator"] == ZERO and by_bed_type["hdu"] == ZERO
    assert summary["total"] == 7 == sum(counts["total"] for counts in by_bed_type.values())
    # The ward-type counts are unchanged by bed types.
    assert summary["by_ward_type"]["icu"]["total"] == 3 and summary["by_ward_type"]["general"]["total"] == 4
    # The detail's bed_summary is the same function.
    assert api.get(f"/api/v1/hospitals/{hospital.pk}").json()["bed_summary"]["by_bed_type"] == by_bed_type


def test_availability_of_a_hospital_without_beds_has_zero_bed_types(api, hospital):
    summary = api.get(f"/api/v1/hospitals/{hospital.pk}/availability").json()
    assert summary["by_bed_type"] == dict.fromkeys(BedType.values, ZERO)


def test_availability_with_bed_types_is_one_counting_query(api, hospital, django_assert_num_queries):
    for bed_type in BedType.values:
        ward = WardFactory(hospital=hospital)
        for status in BedStatus.values:
            BedFactory(ward=ward, bed_type=bed_type, status=status)
    # The counts and "may the caller see this hospital" are one query (anonymous: no auth query).
    with django_assert_num_queries(1):
        response = api.get(f"/api/v1/hospitals/{hospital.pk}/availability")
    assert response.json()["by_bed_type"]["icu"]["total"] == len(BedStatus.values)


def test_schema_documents_by_bed_type(api):
    schema = api.get("/api/schema?format=json").json()
    components = schema["components"]["schemas"]
    assert "by_bed_type" in components["BedSummaryOut"]["required"]
    counts = components["BedCountsOfBedType"]["properties"]
    assert set(counts) == {"total", "free", "occupied", "reserved", "maintenance"}
    assert set(components["BedCountsByBedType"]["properties"]) == set(BedType.values)
    bed = components["BedOut"]["properties"]
    assert {"bed_type", "reservation"} <= set(bed)


# --- has_bed_type -----------------------------------------------------------------------------


def test_has_bed_type_lists_hospitals_with_a_free_bed_of_that_type(api):
    free_icu = HospitalFactory()
    BedFactory(ward=WardFactory(hospital=free_icu, ward_type=WardType.GENERAL), bed_type=BedType.ICU)
    busy_icu = HospitalFactory()
    for status in (BedStatus.OCCUPIED, BedStatus.RESERVED, BedStatus.CLEANING, BedStatus.MAINTENANCE):
        BedFactory(ward=WardFactory(hospital=busy_icu, ward_type=WardType.ICU), bed_type=BedType.ICU, status=status)
    oxygen_only = HospitalFactory()
    BedFactory(ward=WardFactory(hospital=oxygen_only), bed_type=BedType.OXYGEN)

    assert ids(api.get("/api/v1/hospitals?has_bed_type=icu")) == [free_icu.pk]
    assert ids(api.get("/api/v1/hospitals?has_bed_type=oxygen")) == [oxygen_only.pk]
    assert ids(api.get("/api/v1/hospitals?has_bed_type=ventilator")) == []
    # has_beds keeps its ward-type meaning: the free ICU-type bed stands in a general ward.
    assert ids(api.get("/api/v1/hospitals?has_beds=icu")) == []
    assert ids(api.get("/api/v1/hospitals?has_beds=general&has_bed_type=icu")) == [free_icu.pk]


def test_has_bed_type_with_an_unknown_type_is_400(api):
    response = api.get("/api/v1/hospitals?has_bed_type=hammock")
    assert response.status_code == 400 and error(response)["attr"] == "has_bed_type"


def test_has_bed_type_leaves_out_inactive_hospitals(api):
    closed = HospitalFactory(is_active=False)
    BedFactory(ward=WardFactory(hospital=closed), bed_type=BedType.ICU)
    assert ids(api.get("/api/v1/hospitals?has_bed_type=icu")) == []


# --- Demo data --------------------------------------------------------------------------------


def test_every_demo_hospital_has_free_icu_and_oxygen_beds(api):
    hospitals = seed_hospitals()
    for hospital in hospitals:
        counts = api.get(f"/api/v1/hospitals/{hospital.pk}/availability").json()["by_bed_type"]
        assert counts["icu"]["free"] >= 1 and counts["oxygen"]["free"] >= 1, hospital.name
    every = {h.pk for h in hospitals}
    assert set(ids(api.get("/api/v1/hospitals?has_bed_type=icu"))) == every
    assert set(ids(api.get("/api/v1/hospitals?has_bed_type=oxygen"))) == every


def test_demo_beds_seeded_before_bed_types_get_theirs(api):
    hospitals = seed_hospitals()
    Bed.objects.update(bed_type=BedType.GENERAL)
    seed_hospitals()
    for hospital in hospitals:
        assert Bed.objects.filter(hospital=hospital, bed_type=BedType.ICU).exists()
        assert Bed.objects.filter(hospital=hospital, bed_type=BedType.OXYGEN).exists()
