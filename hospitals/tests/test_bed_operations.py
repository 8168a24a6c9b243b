"""admit, discharge, transfer, status: every rule, role and status code, and the rows afterwards."""

import pytest

from accounts.models import Activity
from conftest import client_for
from hospitals.models import Admission, Bed, BedStatus
from hospitals.tests.factories import AdmissionFactory, BedFactory, UserFactory, WardFactory

pytestmark = pytest.mark.django_db


def error(response):
    return response.json()["errors"][0]


@pytest.fixture
def ward(hospital):
    return WardFactory(hospital=hospital)


@pytest.fixture
def bed(ward):
    return BedFactory(ward=ward)


def admit(client, bed, **body):
    return client.post(f"/api/v1/beds/{bed.pk}/admit", body, format="json")


# --- admit ------------------------------------------------------------------------------------


def test_doctor_admits_registered_patient(doctor_client, doctor_user, bed, patient):
    response = admit(doctor_client, bed, patient_id=patient.pk, reason="Dengue fever")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) >= {
        "id",
        "bed_id",
        "hospital_id",
        "patient_id",
        "patient_name",
        "reason",
        "admitted_at",
        "discharged_at",
    }
    assert data["bed_id"] == bed.pk and data["hospital_id"] == bed.hospital_id and data["patient_id"] == patient.pk
    assert data["patient_name"] == patient.fullname and data["discharged_at"] is None
    bed.refresh_from_db()
    assert bed.status == BedStatus.OCCUPIED
    admission = Admission.objects.get(pk=data["id"])
    assert admission.admitted_by_id == doctor_user.pk
    entry = Activity.objects.get(action="create", object_type="admission", object_id=str(admission.pk))
    assert entry.patient_id == patient.pk and entry.actor_id == doctor_user.pk


def test_walk_in_admitted_by_name(hospital_admin_client, bed):
    response = admit(hospital_admin_client, bed, patient_name="Unknown male, ~40", reason="RTA")
    assert response.status_code == 201, response.content
    assert response.json()["patient_id"] is None and response.json()["patient_name"] == "Unknown male, ~40"


def test_admin_admits_anywhere(admin_client, bed, patient):
    assert admit(admin_client, bed, patient_id=patient.pk).status_code == 201


def test_reserved_bed_takes_an_admission(doctor_client, ward, patient):
    reserved = BedFactory(ward=ward, status=BedStatus.RESERVED)
    assert admit(doctor_client, reserved, patient_id=patient.pk).status_code == 201


@pytest.mark.parametrize("status", [BedStatus.OCCUPIED, BedStatus.CLEANING, BedStatus.MAINTENANCE])
def test_admit_to_bed_not_available_or_reserved_is_409(doctor_client, ward, patient, status):
    busy = BedFactory(ward=ward, status=status)
    response = admit(doctor_client, busy, patient_id=patient.pk)
    assert response.status_code == 409
    assert error(response)["code"] == ("bed_occupied" if status == BedStatus.OCCUPIED else "bed_unavailable")
    assert not Admission.objects.filter(patient=patient).exists()
    busy.refresh_from_db()
    assert busy.status == status


def test_admit_to_occupied_bed_is_409(doctor_client, ward, patient, other_patient):
    taken = AdmissionFactory(bed=BedFactory(ward=ward), patient=other_patient).bed
    response = admit(doctor_client, taken, patient_id=patient.pk)
    assert response.status_code == 409 and error(response)["code"] == "bed_occupied"
    assert Admission.objects.filter(bed=taken, discharged_at__isnull=True).get().patient_id == other_patient.pk


def test_patient_holds_one_active_admission(doctor_client, ward, patient):
    AdmissionFactory(bed=BedFactory(ward=ward), patient=patient)
    second = BedFactory(ward=ward)
    response = admit(doctor_client, second, patient_id=patient.pk)
    assert response.status_code == 409 and error(response)["code"] == "already_admitted"
    second.refresh_from_db()
    assert second.status == BedStatus.AVAILABLE
    assert Admission.objects.filter(patient=patient).count() == 1


def test_discharged_patient_can_be_admitted_again(doctor_client, ward, patient):
    first = BedFactory(ward=ward)
    assert admit(doctor_client, first, patient_id=patient.pk).status_code == 201
    assert doctor_client.post(f"/api/v1/beds/{first.pk}/discharge").status_code == 200
    assert admit(doctor_client, BedFactory(ward=ward), patient_id=patient.pk).status_code == 201


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({}, "patient_id"),
        ({"reason": "x"}, "patient_id"),
        ({"patient_id": 424242}, "patient_id"),
        ({"patient_id": "abc"}, "patient_id"),
        ({"patient_id": 1.5}, "patient_id"),
        ({"patient_name": ""}, "patient_name"),
        ({"patient_name": "n" * 151}, "patient_name"),
        ({"patient_name": "Ravi", "reason": "r" * 501}, "reason"),
        ({"patient_name": "Ravi", "patient_id": "PATIENT"}, "patient_name"),
    ],
)
def test_invalid_admit_body_is_400_naming_field(doctor_client, bed, patient, body, attr):
    body = {k: patient.pk if v == "PATIENT" else v for k, v in body.items()}
    response = admit(doctor_client, bed, **body)
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE and not Admission.objects.exists()


@pytest.mark.parametrize("role", ["doctor", "hospital_admin", "donor", "ambulance_driver", "inactive_patient"])
def test_patient_id_must_name_an_active_patient_account(doctor_client, bed, hospital, role):
    if role == "inactive_patient":
        user = UserFactory(role="user", is_active=False)
    elif role in ("doctor", "hospital_admin", "ambulance_driver"):
        user = UserFactory(role=role, hospital=hospital)
    else:
        user = UserFactory(role=role)
    response = admit(doctor_client, bed, patient_id=user.pk)
    assert response.status_code == 400
    assert error(response)["attr"] == "patient_id"


def test_driver_never_admits(driver_client, bed, patient):
    response = admit(driver_client, bed, patient_id=patient.pk)
    assert response.status_code == 403
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE and not Admission.objects.exists()


@pytest.mark.parametrize("client_name", ["patient_client", "donor_client"])
def test_patients_and_donors_cannot_admit(request, client_name, bed, patient):
    response = admit(request.getfixturevalue(client_name), bed, patient_name="Someone")
    assert response.status_code == 403
    assert not Admission.objects.exists()


def test_anonymous_admit_is_401(api, bed):
    assert admit(api, bed, patient_name="Someone").status_code == 401


@pytest.mark.parametrize("role", ["doctor", "hospital_admin"])
def test_staff_of_another_hospital_cannot_admit(role, bed, other_hospital, patient):
    client = client_for(UserFactory(role=role, hospital=other_hospital))
    response = admit(client, bed, patient_id=patient.pk)
    assert response.status_code == 403
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE and not Admission.objects.exists()


def test_admit_to_unknown_bed_is_404(doctor_client, patient):
    response = doctor_client.post("/api/v1/beds/424242/admit", {"patient_id": patient.pk})
    assert response.status_code == 404 and error(response)["code"] == "not_found"
    assert not Admission.objects.exists()


def test_admit_with_trailing_slash(doctor_client, bed):
    response = doctor_client.post(f"/api/v1/beds/{bed.pk}/admit/", {"patient_name": "Asha"}, format="json")
    assert response.status_code == 201


# --- discharge --------------------------------------------------------------------------------


def test_discharge_closes_admission_and_sends_bed_to_cleaning(doctor_client, ward, patient):
    admission = AdmissionFactory(bed=BedFactory(ward=ward), patient=patient)
    response = doctor_client.post(f"/api/v1/beds/{admission.bed_id}/discharge")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == admission.pk and response.json()["discharged_at"]
    admission.refresh_from_db()
    assert admission.discharged_at is not None
    assert Bed.objects.get(pk=admission.bed_id).status == BedStatus.CLEANING
    assert Activity.objects.filter(object_type="admission", object_id=str(admission.pk), action="action").exists()


def test_discharge_of_bed_without_admission_is_409(doctor_client, bed):
    response = doctor_client.post(f"/api/v1/beds/{bed.pk}/discharge")
    assert response.status_code == 409 and error(response)["code"] == "no_active_admission"
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE


def test_discharge_twice_is_409(doctor_client, ward):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    assert doctor_client.post(f"/api/v1/beds/{admission.bed_id}/discharge").status_code == 200
    discharged_at = Admission.objects.get(pk=admission.pk).discharged_at
    again = doctor_client.post(f"/api/v1/beds/{admission.bed_id}/discharge")
    assert again.status_code == 409 and error(again)["code"] == "no_active_admission"
    assert Admission.objects.get(pk=admission.pk).discharged_at == discharged_at
    assert Bed.objects.get(pk=admission.bed_id).status == BedStatus.CLEANING


@pytest.mark.parametrize("client_name", ["driver_client", "patient_client"])
def test_discharge_forbidden_to_drivers_and_patients(request, client_name, ward, patient):
    admission = AdmissionFactory(bed=BedFactory(ward=ward), patient=patient)
    response = request.getfixturevalue(client_name).post(f"/api/v1/beds/{admission.bed_id}/discharge")
    assert response.status_code == 403
    admission.refresh_from_db()
    assert admission.discharged_at is None


def test_other_hospitals_doctor_cannot_discharge(ward, other_hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    client = client_for(UserFactory(role="doctor", hospital=other_hospital))
    assert client.post(f"/api/v1/beds/{admission.bed_id}/discharge").status_code == 403
    admission.refresh_from_db()
    assert admission.discharged_at is None


# --- transfer ---------------------------------------------------------------------------------


def transfer(client, bed, to_bed_id):
    return client.post(f"/api/v1/beds/{bed.pk}/transfer", {"to_bed_id": to_bed_id}, format="json")


def test_transfer_moves_admission_and_frees_source_for_cleaning(doctor_client, ward, patient):
    admission = AdmissionFactory(bed=BedFactory(ward=ward), patient=patient)
    target = BedFactory(ward=WardFactory(hospital=ward.hospital, ward_type="icu"))
    response = transfer(doctor_client, admission.bed, target.pk)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == admission.pk and response.json()["bed_id"] == target.pk
    admission.refresh_from_db()
    assert admission.bed_id == target.pk and admission.discharged_at is None
    assert Bed.objects.get(pk=target.pk).status == BedStatus.OCCUPIED
    assert Bed.objects.get(pk=response.json()["bed_id"]).status == BedStatus.OCCUPIED
    source = Bed.objects.exclude(pk=target.pk).get(ward=ward)
    assert source.status == BedStatus.CLEANING
    entry = Activity.objects.get(object_type="admission", object_id=str(admission.pk), action="action")
    assert entry.detail == {"operation": "transfer", "from_bed_id": source.pk, "to_bed_id": target.pk}


@pytest.mark.parametrize("status", [BedStatus.OCCUPIED, BedStatus.RESERVED, BedStatus.CLEANING, BedStatus.MAINTENANCE])
def test_transfer_to_bed_not_available_is_409_and_changes_nothing(doctor_client, ward, patient, other_patient, status):
    admission = AdmissionFactory(bed=BedFactory(ward=ward), patient=patient)
    if status == BedStatus.OCCUPIED:
        other = AdmissionFactory(bed=BedFactory(ward=ward), patient=other_patient)
        target = other.bed
    else:
        target = BedFactory(ward=ward, status=status)
    response = transfer(doctor_client, admission.bed, target.pk)
    assert response.status_code == 409
    codes = {BedStatus.OCCUPIED: "bed_occupied", BedStatus.RESERVED: "bed_reserved"}
    assert error(response)["code"] == codes.get(status, "bed_unavailable")
    admission.refresh_from_db()
    assert admission.bed_id != target.pk and admission.discharged_at is None
    assert Bed.objects.get(pk=admission.bed_id).status == BedStatus.OCCUPIED
    assert Bed.objects.get(pk=target.pk).status == status
    if status == BedStatus.OCCUPIED:
        assert Admission.objects.get(pk=other.pk).bed_id == target.pk


def test_transfer_from_empty_bed_is_409(doctor_client, ward, bed):
    target = BedFactory(ward=ward)
    response = transfer(doctor_client, bed, target.pk)
    assert response.status_code == 409 and error(response)["code"] == "no_active_admission"
    assert Bed.objects.get(pk=target.pk).status == BedStatus.AVAILABLE
    assert Bed.objects.get(pk=bed.pk).status == BedStatus.AVAILABLE


def test_transfer_to_same_bed_is_409(doctor_client, ward):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    response = transfer(doctor_client, admission.bed, admission.bed_id)
    assert response.status_code == 409 and error(response)["code"] == "same_bed"
    assert Admission.objects.get(pk=admission.pk).bed_id == admission.bed_id
    assert Bed.objects.get(pk=admission.bed_id).status == BedStatus.OCCUPIED


def test_transfer_to_unknown_bed_is_404(doctor_client, ward):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    response = transfer(doctor_client, admission.bed, 424242)
    assert response.status_code == 404
    assert Bed.objects.get(pk=admission.bed_id).status == BedStatus.OCCUPIED


@pytest.mark.parametrize(("body", "attr"), [({}, "to_bed_id"), ({"to_bed_id": "abc"}, "to_bed_id")])
def test_invalid_transfer_body_is_400(doctor_client, ward, body, attr):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    response = doctor_client.post(f"/api/v1/beds/{admission.bed_id}/transfer", body, format="json")
    assert response.status_code == 400 and error(response)["attr"] == attr


def test_doctor_cannot_transfer_into_another_hospital(doctor_client, ward, other_hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    target = BedFactory(ward=WardFactory(hospital=other_hospital))
    response = transfer(doctor_client, admission.bed, target.pk)
    assert response.status_code == 403 and error(response)["code"] == "permission_denied"
    assert Bed.objects.get(pk=target.pk).status == BedStatus.AVAILABLE
    assert Admission.objects.get(pk=admission.pk).bed_id == admission.bed_id


def test_transfer_stays_within_one_hospital_even_for_admin(admin_client, ward, other_hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    target = BedFactory(ward=WardFactory(hospital=other_hospital))
    response = transfer(admin_client, admission.bed, target.pk)
    assert response.status_code == 400 and error(response)["attr"] == "to_bed_id"
    assert error(response)["code"] == "hospital_mismatch"
    admission.refresh_from_db()
    assert admission.bed_id != target.pk
    assert Bed.objects.get(pk=target.pk).status == BedStatus.AVAILABLE


def test_driver_cannot_transfer(driver_client, ward):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    target = BedFactory(ward=ward)
    assert transfer(driver_client, admission.bed, target.pk).status_code == 403
    assert Admission.objects.get(pk=admission.pk).bed_id == admission.bed_id


# --- status -----------------------------------------------------------------------------------


def set_status(client, bed, status):
    return client.post(f"/api/v1/beds/{bed.pk}/status", {"status": status}, format="json")


@pytest.mark.parametrize("status", ["reserved", "cleaning", "maintenance", "available"])
def test_status_can_be_set_to_each_settable_value(doctor_client, ward, status):
    bed = BedFactory(ward=ward, status=BedStatus.CLEANING)
    response = set_status(doctor_client, bed, status)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == status and response.json()["id"] == bed.pk
    bed.refresh_from_db()
    assert bed.status == status


def test_status_occupied_is_400(hospital_admin_client, bed):
    response = set_status(hospital_admin_client, bed, "occupied")
    assert response.status_code == 400 and error(response)["attr"] == "status"
    assert error(response)["code"] == "invalid_choice"
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE


@pytest.mark.parametrize("body", [{}, {"status": "broken"}, {"status": ""}, {"status": None}])
def test_invalid_status_body_is_400(hospital_admin_client, bed, body):
    response = hospital_admin_client.post(f"/api/v1/beds/{bed.pk}/status", body, format="json")
    assert response.status_code == 400 and error(response)["attr"] == "status"


@pytest.mark.parametrize("status", ["available", "reserved", "cleaning", "maintenance"])
def test_occupied_bed_leaves_occupied_only_by_discharge_or_transfer(hospital_admin_client, ward, status):
    admission = AdmissionFactory(bed=BedFactory(ward=ward))
    response = set_status(hospital_admin_client, admission.bed, status)
    assert response.status_code == 409 and error(response)["code"] == "bed_occupied"
    assert Bed.objects.get(pk=admission.bed_id).status == BedStatus.OCCUPIED


@pytest.mark.parametrize("client_name", ["driver_client", "patient_client"])
def test_status_forbidden_to_drivers_and_patients(request, client_name, bed):
    response = set_status(request.getfixturevalue(client_name), bed, "maintenance")
    assert response.status_code == 403
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE


def test_status_by_other_hospitals_admin_is_403(bed, other_hospital):
    client = client_for(UserFactory(role="hospital_admin", hospital=other_hospital))
    assert set_status(client, bed, "maintenance").status_code == 403
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE


def test_availability_follows_bed_operations(doctor_client, api, ward, patient):
    bed = BedFactory(ward=ward)
    spare = BedFactory(ward=ward)
    url = f"/api/v1/hospitals/{ward.hospital_id}/availability"
    assert api.get(url).json()["by_status"]["available"] == 2
    admit(doctor_client, bed, patient_id=patient.pk)
    assert api.get(url).json()["by_status"]["occupied"] == 1
    transfer(doctor_client, bed, spare.pk)
    counts = api.get(url).json()["by_status"]
    assert counts["occupied"] == 1 and counts["cleaning"] == 1 and counts["available"] == 0
