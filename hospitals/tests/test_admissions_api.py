"""Admissions are clinical records: read-only, scoped (others 404), every detail read audited."""

import pytest

from accounts.models import Activity
from conftest import client_for
from hospitals.models import Admission
from hospitals.tests.factories import AdmissionFactory, BedFactory, UserFactory, WardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admission(hospital, patient):
    return AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)), patient=patient, reason="Typhoid")


@pytest.fixture
def foreign_admission(other_hospital, other_patient):
    return AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=other_hospital)), patient=other_patient)


def listed_ids(client, query=""):
    response = client.get(f"/api/v1/admissions{query}")
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("client_name", ["patient_client", "hospital_admin_client", "doctor_client", "admin_client"])
def test_allowed_readers_see_the_admission(request, client_name, admission, patient):
    client = request.getfixturevalue(client_name)
    response = client.get(f"/api/v1/admissions/{admission.pk}")
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == admission.pk and data["patient_id"] == patient.pk and data["reason"] == "Typhoid"
    assert data["bed_id"] == admission.bed_id and data["hospital_id"] == admission.hospital_id
    assert admission.pk in listed_ids(client)


@pytest.mark.parametrize("client_name", ["other_patient_client", "donor_client", "driver_client"])
def test_others_get_404_and_an_empty_list(request, client_name, admission):
    client = request.getfixturevalue(client_name)
    assert client.get(f"/api/v1/admissions/{admission.pk}").status_code == 404
    assert admission.pk not in listed_ids(client)


@pytest.mark.parametrize("role", ["hospital_admin", "doctor"])
def test_another_hospitals_staff_get_404(role, admission, other_hospital):
    client = client_for(UserFactory(role=role, hospital=other_hospital))
    assert client.get(f"/api/v1/admissions/{admission.pk}").status_code == 404
    assert listed_ids(client) == set()


def test_hospital_admin_lists_only_its_hospitals_admissions(hospital_admin_client, admission, foreign_admission):
    assert listed_ids(hospital_admin_client) == {admission.pk}


def test_patient_lists_only_own_admissions(patient_client, admission, foreign_admission, hospital):
    AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    assert listed_ids(patient_client) == {admission.pk}


def test_patient_keeps_access_after_transfer_to_another_ward(patient_client, doctor_client, admission, hospital):
    target = BedFactory(ward=WardFactory(hospital=hospital))
    assert doctor_client.post(f"/api/v1/beds/{admission.bed_id}/transfer", {"to_bed_id": target.pk}).status_code == 200
    assert patient_client.get(f"/api/v1/admissions/{admission.pk}").json()["bed_id"] == target.pk


def test_anonymous_is_401(api, admission):
    assert api.get("/api/v1/admissions").status_code == 401
    assert api.get(f"/api/v1/admissions/{admission.pk}").status_code == 401


def test_detail_read_is_audited(doctor_client, doctor_user, admission, patient):
    doctor_client.get(f"/api/v1/admissions/{admission.pk}")
    entry = Activity.objects.get(action="read", object_type="admission")
    assert entry.object_id == admission.pk and entry.patient_id == patient.pk and entry.actor_id == doctor_user.pk


def test_denied_read_is_audited_with_the_probed_patient(other_patient_client, other_patient, admission, patient):
    other_patient_client.get(f"/api/v1/admissions/{admission.pk}")
    entry = Activity.objects.get(action="read_denied", object_type="admission")
    assert entry.object_id == admission.pk and entry.patient_id == patient.pk
    assert entry.actor_id == other_patient.pk


def test_list_reads_are_not_logged_per_row(admin_client, admission):
    admin_client.get("/api/v1/admissions")
    assert not Activity.objects.filter(action="read").exists()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_admissions_are_read_only_405(admin_client, admission, method):
    url = "/api/v1/admissions" if method == "post" else f"/api/v1/admissions/{admission.pk}"
    response = getattr(admin_client, method)(url, {"reason": "changed"}, format="json")
    assert response.status_code == 405
    admission.refresh_from_db()
    assert admission.reason == "Typhoid" and Admission.objects.count() == 1


def test_admission_filters(admin_client, admission, foreign_admission, doctor_client):
    assert listed_ids(admin_client, f"?hospital_id={admission.hospital_id}") == {admission.pk}
    assert listed_ids(admin_client, f"?patient_id={foreign_admission.patient_id}") == {foreign_admission.pk}
    assert listed_ids(admin_client, f"?bed_id={admission.bed_id}") == {admission.pk}
    doctor_client.post(f"/api/v1/beds/{admission.bed_id}/discharge")
    assert listed_ids(admin_client, "?active=true") == {foreign_admission.pk}
    assert listed_ids(admin_client, "?active=false") == {admission.pk}


def test_walk_in_admission_visible_to_staff_only(doctor_client, patient_client, hospital):
    walk_in = AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)), patient=None, patient_name="Ravi")
    assert doctor_client.get(f"/api/v1/admissions/{walk_in.pk}").json()["patient_id"] is None
    assert patient_client.get(f"/api/v1/admissions/{walk_in.pk}").status_code == 404
