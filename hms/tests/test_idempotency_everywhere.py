"""`Idempotency-Key` (section 14's rules) on every POST that creates something beside booking (part
two's header): admissions, blood requests, donations and emergency reports. A retry with the same key
and body returns the first answer and creates nothing; the same key with another body is 422."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from bloodbank.models import BloodRequest, Donation
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for
from emergency.models import Emergency
from hospitals.models import Admission
from hospitals.tests.factories import BedFactory, WardFactory

pytestmark = pytest.mark.django_db


def post_twice(client, url, body, other_body):
    """The first answer, its replay, and the answer to the same key with a different body."""
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    reused = client.post(url, other_body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    return first, replay, reused


def assert_replayed(first, replay, reused):
    assert first.status_code == 201, first.content
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert reused.status_code == 422 and reused.json()["errors"][0]["code"] == "idempotency_key_reused"


def test_an_admission_retried_with_its_key_admits_once(hospital, hospital_admin, patient, other_patient):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    url = f"/api/v1/beds/{bed.pk}/admit"
    assert_replayed(
        *post_twice(client_for(hospital_admin), url, {"patient_id": patient.pk}, {"patient_id": other_patient.pk})
    )
    assert Admission.objects.filter(bed=bed).count() == 1


def test_a_blood_request_retried_with_its_key_is_made_once(hospital, patient):
    bank = BloodBankFactory(hospital=hospital)
    body = {
        "blood_bank_id": bank.pk,
        "patient_name": "Ravi",
        "blood_group": "A+",
        "component": "packed_red_cells",
        "units": 2,
    }
    assert_replayed(*post_twice(client_for(patient), "/api/v1/blood-requests", body, {**body, "units": 3}))
    assert BloodRequest.objects.filter(requester=patient).count() == 1


def test_a_donation_retried_with_its_key_is_recorded_once(hospital, hospital_admin):
    bank = BloodBankFactory(hospital=hospital)
    donor = UserFactory(role="donor", blood_group="B-")
    other_donor = UserFactory(role="donor", blood_group="O+")
    body = {"donor_id": donor.pk, "blood_bank_id": bank.pk}
    assert_replayed(
        *post_twice(client_for(hospital_admin), "/api/v1/donations", body, {**body, "donor_id": other_donor.pk})
    )
    assert Donation.objects.filter(donor=donor).count() == 1


def test_an_anonymous_emergency_report_retried_with_its_key_is_reported_once(hospital):
    body = {"contact_number": "+91 98765 43210", "emergency_type": "cardiac", "latitude": 18.53, "longitude": 73.86}
    assert_replayed(*post_twice(APIClient(), "/api/v1/emergencies", body, {**body, "emergency_type": "trauma"}))
    assert Emergency.objects.count() == 1


def test_without_a_key_each_post_acts(hospital, patient):
    bank = BloodBankFactory(hospital=hospital)
    body = {
        "blood_bank_id": bank.pk,
        "patient_name": "Ravi",
        "blood_group": "A+",
        "component": "packed_red_cells",
        "units": 2,
    }
    client = client_for(patient)
    assert client.post("/api/v1/blood-requests", body, format="json").status_code == 201
    assert client.post("/api/v1/blood-requests", body, format="json").status_code == 201
    assert BloodRequest.objects.filter(requester=patient).count() == 2
