"""Availability computed with the read cache off is written straight into its JSON body
(hospitals.availability): the very bytes DRF's JSONRenderer writes for the selector's dict, for every
caller, on random data; other Accept parameters and values outside the choices keep the dict path's
answers, and the read cache keeps these bytes (test_availability_cached.py)."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from conftest import client_for
from hospitals import selectors
from hospitals.availability import availability_json
from hospitals.models import Bed, BedStatus, Ward
from hospitals.tests.factories import BedFactory, HospitalFactory, UserFactory, WardFactory

# The random hospitals and callers of the row-by-row reference test.
from hospitals.tests.test_fast_reads import callers, random_hospitals  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=654321)


def _dict_path_bytes(hospital_id: int, *, active_only: bool) -> bytes:
    return JSONRenderer().render(selectors.bed_summary(hospital_id=hospital_id, active_only=active_only))


def _client(user):
    return APIClient() if user is None else client_for(user)


@pytest.mark.parametrize("moment", [NOW, NOW.replace(microsecond=0)], ids=["microseconds", "whole_second"])
def test_body_is_the_bytes_jsonrenderer_writes_for_the_summary(random_hospitals, moment):  # noqa: F811
    with time_machine.travel(moment, tick=False):
        for hospital in random_hospitals:
            for active_only in (True, False):
                body = availability_json(hospital.pk, active_only=active_only)
                if active_only and not hospital.is_active:
                    assert body is None
                    continue
                assert body == _dict_path_bytes(hospital.pk, active_only=active_only)


def test_unknown_hospital_has_no_body(db):
    assert availability_json(987654, active_only=False) is None


@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
def test_http_answer_is_byte_identical_for_every_caller(random_hospitals, callers, who):  # noqa: F811
    with time_machine.travel(NOW, tick=False):
        client = _client(callers[who])
        for hospital in random_hospitals:
            response = client.get(f"/api/v1/hospitals/{hospital.pk}/availability")
            if not hospital.is_active and who != "admin":
                assert response.status_code == 404
                assert response.json()["errors"][0]["code"] == "not_found"
                continue
            assert response.status_code == 200
            assert response["Content-Type"] == "application/json"
            assert response.content == _dict_path_bytes(hospital.pk, active_only=who != "admin")


def test_accept_with_indent_is_rendered_by_drf_as_before(random_hospitals):  # noqa: F811
    hospital = random_hospitals[0]
    with time_machine.travel(NOW, tick=False):
        response = APIClient().get(
            f"/api/v1/hospitals/{hospital.pk}/availability", HTTP_ACCEPT="application/json; indent=2"
        )
        summary = selectors.bed_summary(hospital_id=hospital.pk, active_only=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(summary, "application/json; indent=2")
    assert b'\n  "hospital_id": ' in response.content


def test_accept_nothing_json_can_answer_is_406(random_hospitals):  # noqa: F811
    response = APIClient().get(f"/api/v1/hospitals/{random_hospitals[0].pk}/availability", HTTP_ACCEPT="text/html")
    assert response.status_code == 406


def test_values_outside_the_choices_keep_the_dict_paths_shape(db):
    hospital = HospitalFactory()
    ward = WardFactory(hospital=hospital, ward_type="general")
    odd_ward = WardFactory(hospital=hospital, ward_type="general")
    BedFactory(ward=ward, status=BedStatus.OCCUPIED)
    BedFactory(ward=odd_ward)
    BedFactory(ward=ward, bed_type="icu")
    # Written around the choices (the admin's raw SQL, an old row): counted under their own names.
    Ward.objects.filter(pk=odd_ward.pk).update(ward_type="burns")
    Bed.objects.filter(ward=ward, bed_type="icu").update(status="quarantine")
    with time_machine.travel(NOW, tick=False):
        body = availability_json(hospital.pk, active_only=True)
        assert body == _dict_path_bytes(hospital.pk, active_only=True)
        response = APIClient().get(f"/api/v1/hospitals/{hospital.pk}/availability")
    data = json.loads(body)
    assert data["by_ward_type"]["burns"]["available"] == 1
    assert data["by_status"]["quarantine"] == 1
    assert response.content == body


def test_hospital_without_beds_counts_zeros(db):
    hospital = HospitalFactory()
    with time_machine.travel(NOW, tick=False):
        body = availability_json(hospital.pk, active_only=True)
        assert body == _dict_path_bytes(hospital.pk, active_only=True)
    assert json.loads(body)["total"] == 0


def test_lapsed_reservation_counts_as_available_in_the_body(db):
    hospital = HospitalFactory()
    patient = UserFactory()
    ward = WardFactory(hospital=hospital, ward_type="icu")
    reservation = {"status": BedStatus.RESERVED, "reserved_for": patient, "reservation_reason": "transfer"}
    BedFactory(ward=ward, bed_type="icu", reserved_until=NOW + timedelta(minutes=5), **reservation)
    with time_machine.travel(NOW, tick=False):
        assert json.loads(availability_json(hospital.pk, active_only=True))["by_bed_type"]["icu"]["reserved"] == 1
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        counts = json.loads(availability_json(hospital.pk, active_only=True))["by_bed_type"]["icu"]
    assert counts == {"total": 1, "free": 1, "occupied": 0, "reserved": 0, "maintenance": 0}


@override_settings(READ_CACHE_SECONDS=30)
def test_with_the_read_cache_on_the_kept_counts_answer_the_same_body(random_hospitals):  # noqa: F811
    hospital = random_hospitals[0]
    with time_machine.travel(NOW, tick=False):
        cached = APIClient().get(f"/api/v1/hospitals/{hospital.pk}/availability")
        expected = _dict_path_bytes(hospital.pk, active_only=True)
    assert cached.status_code == 200
    assert cached.content == expected
