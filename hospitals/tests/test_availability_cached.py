"""Availability through the read cache (hospitals.availability, READ_CACHE_SECONDS > 0): the kept answer
is the bytes computed afresh, for random hospitals and every caller, and a booking or bed change is
seen by the next read.

The tests' cache is Django's database cache (no REDIS_URL under test): the same hms.api.readcache
code as Redis in production. A read served from the cache runs no statement on the bed table.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from conftest import client_for
from hospitals import selectors
from hospitals.models import Bed, BedStatus, BedType, Ward
from hospitals.tests.factories import BedFactory, HospitalFactory, WardFactory

# The random hospitals and callers of the row-by-row reference test.
from hospitals.tests.test_fast_reads import NOW, callers, random_hospitals  # noqa: F401

CACHE_ON = 30


def _client(user):
    return APIClient() if user is None else client_for(user)


def _get(client, path, **headers):
    """The response, and whether answering it read the bed table (computed, not kept)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    return response, any('"hospitals_bed"' in query["sql"] for query in captured.captured_queries)


def _answer(response) -> tuple[int, str, bytes]:
    return response.status_code, response["Content-Type"], response.content


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "patient", "admin"])
@pytest.mark.parametrize("suffix", ["/availability", ""], ids=["availability", "detail"])
def test_the_kept_answer_is_the_computed_bytes_for_random_hospitals_and_callers(
    random_hospitals,  # noqa: F811
    callers,  # noqa: F811
    who,
    suffix,
    settings,
):
    paths = [f"/api/v1/hospitals/{hospital.pk}{suffix}" for hospital in random_hospitals]
    paths.append(f"/api/v1/hospitals/987654{suffix}")  # no such hospital: a 404 kept as well
    # Two moments: the kept bytes carry the time of the read as `as_of`, not the time they were computed.
    for moment in (NOW, NOW + timedelta(seconds=20)):
        with time_machine.travel(moment, tick=False):
            client = _client(callers[who])
            settings.READ_CACHE_SECONDS = 0
            computed = {path: _answer(client.get(path)) for path in paths}
            settings.READ_CACHE_SECONDS = CACHE_ON
            for path in paths:
                first, _ = _get(client, path)  # computed and kept (at NOW), or already kept
                kept, read_beds = _get(client, path)
                assert _answer(first) == computed[path], path
                assert _answer(kept) == computed[path], path
                assert not read_beds, path
    # The deactivated hospital is the public's 404 and the administrator's 200; an absent one everyone's 404.
    assert computed[paths[4]][0] == (200 if who == "admin" else 404)
    assert computed[paths[-1]][0] == 404


@pytest.mark.django_db
def test_kept_bytes_of_values_outside_the_choices_are_the_dict_paths(settings):
    hospital = HospitalFactory()
    ward = WardFactory(hospital=hospital)
    BedFactory(ward=ward)
    BedFactory(ward=ward, bed_type=BedType.ICU)
    Ward.objects.filter(pk=ward.pk).update(ward_type="burns")
    Bed.objects.filter(ward=ward, bed_type=BedType.ICU).update(status="quarantine")
    path = f"/api/v1/hospitals/{hospital.pk}/availability"
    settings.READ_CACHE_SECONDS = CACHE_ON
    with time_machine.travel(NOW, tick=False):
        expected = JSONRenderer().render(selectors.bed_summary(hospital_id=hospital.pk, active_only=True))
        assert APIClient().get(path).content == expected
        kept, read_beds = _get(APIClient(), path)
    assert kept.content == expected and not read_beds
    assert json.loads(kept.content)["by_status"]["quarantine"] == 1


@pytest.mark.django_db
def test_accept_with_indent_renders_the_kept_figures_as_drf_did(random_hospitals, settings):  # noqa: F811
    hospital = random_hospitals[0]
    path = f"/api/v1/hospitals/{hospital.pk}/availability"
    settings.READ_CACHE_SECONDS = CACHE_ON
    with time_machine.travel(NOW, tick=False):
        APIClient().get(path)  # kept
        response, read_beds = _get(APIClient(), path, HTTP_ACCEPT="application/json; indent=2")
        summary = selectors.bed_summary(hospital_id=hospital.pk, active_only=True)
    assert not read_beds
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(summary, "application/json; indent=2")


@pytest.mark.django_db
def test_with_the_cache_off_nothing_is_kept(random_hospitals, settings):  # noqa: F811
    settings.READ_CACHE_SECONDS = 0
    path = f"/api/v1/hospitals/{random_hospitals[0].pk}/availability"
    APIClient().get(path)
    assert _get(APIClient(), path)[1]


# --- writes are seen by the next read (real transactions: generations change when a write commits) ---
# Time stands still in each (the bytes compare equal), after the clients' tokens were issued.


@pytest.fixture
def kept(settings):
    """`read(client, hospital)`: the availability bytes, first checked to be served from the cache."""
    settings.READ_CACHE_SECONDS = CACHE_ON

    def read(client, hospital):
        path = f"/api/v1/hospitals/{hospital.pk}/availability"
        client.get(path)
        response, read_beds = _get(client, path)
        assert response.status_code == 200 and not read_beds
        return json.loads(response.content)

    return read


def _fresh(hospital, *, active_only=True) -> bytes:
    return JSONRenderer().render(selectors.bed_summary(hospital_id=hospital.pk, active_only=active_only))


def _after_write(client, hospital) -> bytes:
    response, read_beds = _get(client, f"/api/v1/hospitals/{hospital.pk}/availability")
    assert response.status_code == 200 and read_beds  # the write invalidated the kept bytes
    return response.content


@pytest.mark.django_db(transaction=True)
def test_an_admission_is_seen_by_the_next_read_and_equals_the_computed_bytes(kept, api, doctor_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    with time_machine.travel(timezone.now(), tick=False):
        assert kept(api, hospital)["by_status"]["occupied"] == 0
        response = doctor_client.post(
            f"/api/v1/beds/{bed.pk}/admit", {"patient_name": "Asha Rao", "reason": "fever"}, format="json"
        )
        assert response.status_code == 201, response.content
        body = _after_write(api, hospital)
        assert body == _fresh(hospital)
    assert json.loads(body)["by_status"]["occupied"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_reservation_and_a_status_change_are_seen_by_the_next_read(kept, api, doctor_client, hospital, patient):
    bed = BedFactory(ward=WardFactory(hospital=hospital), bed_type=BedType.ICU)
    with time_machine.travel(now := timezone.now(), tick=False):
        assert kept(api, hospital)["by_bed_type"]["icu"]["free"] == 1
        until = (now + timedelta(hours=2)).isoformat()
        body = {"patient_id": patient.pk, "until": until, "reason": "Referral"}
        assert doctor_client.post(f"/api/v1/beds/{bed.pk}/reserve", body, format="json").status_code == 200
        assert json.loads(_after_write(api, hospital))["by_bed_type"]["icu"]["reserved"] == 1
        assert kept(api, hospital)["by_bed_type"]["icu"]["reserved"] == 1  # kept again
        assert doctor_client.post(f"/api/v1/beds/{bed.pk}/release").status_code == 200
        response = doctor_client.post(f"/api/v1/beds/{bed.pk}/status", {"status": "maintenance"}, format="json")
        assert response.status_code == 200, response.content
        body = _after_write(api, hospital)
        assert body == _fresh(hospital)
    assert json.loads(body)["by_bed_type"]["icu"]["maintenance"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_bed_saved_outside_the_api_is_seen_and_another_hospitals_stays_kept(kept, api, hospital, other_hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    BedFactory(ward=WardFactory(hospital=other_hospital))
    with time_machine.travel(timezone.now(), tick=False):
        kept(api, hospital)
        kept(api, other_hospital)
        bed.status = BedStatus.CLEANING
        bed.save()  # as the Django admin does: post_save counts as a write to the hospital's beds
        assert json.loads(_after_write(api, hospital))["by_status"]["cleaning"] == 1
        assert kept(api, other_hospital)["by_status"]["available"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_kept_answer_turns_over_when_a_reservation_lapses(kept, api, doctor_client, hospital, patient, settings):
    settings.READ_CACHE_SECONDS = 7 * 24 * 3600  # the entry outlives the time travelled
    bed = BedFactory(ward=WardFactory(hospital=hospital), bed_type=BedType.ICU)
    now = timezone.now()  # after the clients' tokens were issued
    body = {"patient_id": patient.pk, "until": (now + timedelta(hours=1)).isoformat(), "reason": "Referral"}
    with time_machine.travel(now, tick=False):
        assert doctor_client.post(f"/api/v1/beds/{bed.pk}/reserve", body, format="json").status_code == 200
        assert kept(api, hospital)["by_bed_type"]["icu"]["reserved"] == 1
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        body = _after_write(api, hospital)  # no write: the lapse alone refuses the kept bytes
        assert body == _fresh(hospital)
    assert json.loads(body)["by_bed_type"]["icu"]["free"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_detail_sees_a_hospital_edit_and_a_bed_change_and_another_hospitals_stays_kept(
    settings, api, admin_client, hospital, other_hospital
):
    settings.READ_CACHE_SECONDS = CACHE_ON
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    path, other_path = f"/api/v1/hospitals/{hospital.pk}", f"/api/v1/hospitals/{other_hospital.pk}"

    def read(path, *, computed):
        response, read_beds = _get(api, path)
        assert response.status_code == 200 and read_beds == computed, path
        return json.loads(response.content)

    with time_machine.travel(timezone.now(), tick=False):
        for each in (path, other_path):
            api.get(each)
            read(each, computed=False)
        response = admin_client.patch(path, {"name": "Renamed General"}, format="json")
        assert response.status_code == 200, response.content
        assert read(path, computed=True)["name"] == "Renamed General"
        assert read(path, computed=False)["name"] == "Renamed General"  # kept again
        bed.status = BedStatus.CLEANING
        bed.save()
        assert read(path, computed=True)["bed_summary"]["by_status"]["cleaning"] == 1
        read(other_path, computed=False)
        settings.READ_CACHE_SECONDS = 0
        assert _get(api, path)[0].content == _get(api, path)[0].content  # computed twice: the same bytes
        computed = _get(api, path)[0].content
        settings.READ_CACHE_SECONDS = CACHE_ON
        assert _get(api, path)[0].content == computed
