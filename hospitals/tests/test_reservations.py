"""Bed reservations: reserve, release, admission of the reserved patient only, lapse by time alone."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Activity
from conftest import client_for
from feed.models import PendingEvent
from hospitals.models import Admission, Bed, BedStatus, BedType
from hospitals.tests.factories import AdmissionFactory, BedFactory, UserFactory, WardFactory

pytestmark = pytest.mark.django_db


def error(response):
    return response.json()["errors"][0]


@pytest.fixture
def bed(hospital):
    return BedFactory(ward=WardFactory(hospital=hospital), bed_type=BedType.ICU)


def reserve(client, bed, patient, *, until=None, reason="Referral from district hospital"):
    until = until or timezone.now() + timedelta(hours=6)
    body = {"patient_id": patient.pk, "until": until.isoformat(), "reason": reason}
    return client.post(f"/api/v1/beds/{bed.pk}/reserve", body, format="json")


def release(client, bed):
    return client.post(f"/api/v1/beds/{bed.pk}/release")


def admit(client, bed, **body):
    return client.post(f"/api/v1/beds/{bed.pk}/admit", body, format="json")


def fields(bed):
    bed.refresh_from_db()
    return bed.status, bed.reserved_for_id, bed.reserved_until, bed.reservation_reason


UNRESERVED = (BedStatus.AVAILABLE, None, None, "")


# --- reserve ----------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "doctor_client"])
def test_bed_operators_reserve_an_available_bed_for_a_patient(request, client_name, bed, patient, hospital):
    client = request.getfixturevalue(client_name)
    until = (timezone.now() + timedelta(hours=6)).replace(microsecond=0)
    response = reserve(client, bed, patient, until=until)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "reserved" and data["bed_type"] == "icu"
    assert data["reservation"] == {
        "patient_id": patient.pk,
        "until": until.isoformat().replace("+00:00", "Z"),
        "reason": "Referral from district hospital",
    }
    assert fields(bed) == (BedStatus.RESERVED, patient.pk, until, "Referral from district hospital")
    entry = Activity.objects.get(object_type="bed", object_id=str(bed.pk), detail__operation="reserve")
    assert entry.patient_id == patient.pk and entry.action == "action"
    event = PendingEvent.objects.filter(topic=f"hospital.{hospital.pk}.beds").last()
    assert event.data["by_bed_type"]["icu"]["reserved"] == 1


@pytest.mark.parametrize(
    ("client_name", "status_code"),
    [
        ("api", 401),
        ("patient_client", 403),
        ("donor_client", 403),
        ("driver_client", 403),
        ("other_hospital_admin_client", 403),
    ],
)
def test_others_cannot_reserve_and_the_bed_is_unchanged(request, client_name, status_code, bed, other_patient):
    response = reserve(request.getfixturevalue(client_name), bed, other_patient)
    assert response.status_code == status_code
    assert fields(bed) == UNRESERVED
    assert not Activity.objects.filter(object_type="bed").exists()


def test_a_doctor_of_another_hospital_cannot_reserve(bed, patient, other_hospital):
    doctor = UserFactory(role="doctor", hospital=other_hospital)
    assert reserve(client_for(doctor), bed, patient).status_code == 403
    assert fields(bed) == UNRESERVED


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (timedelta(minutes=-1), "until_not_future"),
        (timedelta(0), "until_not_future"),
        (timedelta(days=7, seconds=1), "until_too_far"),
    ],
)
def test_until_must_be_ahead_and_within_seven_days(doctor_client, bed, patient, offset, code):
    with time_machine.travel(timezone.now(), tick=False):
        response = reserve(doctor_client, bed, patient, until=timezone.now() + offset)
    assert response.status_code == 400
    assert error(response)["attr"] == "until" and error(response)["code"] == code
    assert fields(bed) == UNRESERVED


def test_until_of_exactly_seven_days_is_accepted(doctor_client, bed, patient):
    with time_machine.travel(timezone.now(), tick=False):
        response = reserve(doctor_client, bed, patient, until=timezone.now() + timedelta(days=7))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"patient_id": None}, "patient_id"),
        ({"patient_id": 999999}, "patient_id"),
        ({"patient_id": "x"}, "patient_id"),
        ({"until": "tomorrow"}, "until"),
    ],
)
def test_invalid_reservation_input_is_400_naming_the_field(doctor_client, bed, patient, body, attr):
    body = {"patient_id": patient.pk, "until": (timezone.now() + timedelta(hours=1)).isoformat(), **body}
    body = {name: value for name, value in body.items() if value is not None}
    response = doctor_client.post(f"/api/v1/beds/{bed.pk}/reserve", body, format="json")
    assert response.status_code == 400 and error(response)["attr"] == attr
    assert fields(bed) == UNRESERVED


def test_only_a_registered_patient_can_hold_a_reservation(doctor_client, doctor_user, bed):
    response = reserve(doctor_client, bed, doctor_user)
    assert response.status_code == 400 and error(response)["attr"] == "patient_id"


def test_reservation_reason_is_optional(doctor_client, bed, patient):
    body = {"patient_id": patient.pk, "until": (timezone.now() + timedelta(hours=1)).isoformat()}
    response = doctor_client.post(f"/api/v1/beds/{bed.pk}/reserve", body, format="json")
    assert response.status_code == 200 and response.json()["reservation"]["reason"] == ""


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (BedStatus.CLEANING, "bed_unavailable"),
        (BedStatus.MAINTENANCE, "bed_unavailable"),
        (BedStatus.RESERVED, "bed_reserved"),  # the manual status: held for nobody in particular
    ],
)
def test_a_bed_that_is_not_available_cannot_be_reserved(doctor_client, hospital, patient, status, code):
    bed = BedFactory(ward=WardFactory(hospital=hospital), status=status)
    response = reserve(doctor_client, bed, patient)
    assert response.status_code == 409 and error(response)["code"] == code
    assert fields(bed) == (status, None, None, "")


def test_an_occupied_bed_cannot_be_reserved(doctor_client, hospital, patient):
    admission = AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    response = reserve(doctor_client, admission.bed, patient)
    assert response.status_code == 409 and error(response)["code"] == "bed_occupied"
    assert fields(admission.bed) == (BedStatus.OCCUPIED, None, None, "")


def test_a_reserved_bed_cannot_be_reserved_again(doctor_client, bed, patient, other_patient):
    assert reserve(doctor_client, bed, patient).status_code == 200
    response = reserve(doctor_client, bed, other_patient)
    assert response.status_code == 409 and error(response)["code"] == "bed_reserved"
    assert fields(bed)[1] == patient.pk


# --- who sees the reservation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [
        ("admin_client", True),
        ("hospital_admin_client", True),
        ("doctor_client", True),
        ("driver_client", True),
        ("api", False),
        ("patient_client", False),
        ("other_hospital_admin_client", False),
    ],
)
def test_reservation_is_shown_only_to_the_hospitals_staff_and_admins(
    request, doctor_client, bed, patient, client_name, shown
):
    assert reserve(doctor_client, bed, patient).status_code == 200
    client = request.getfixturevalue(client_name)
    detail = client.get(f"/api/v1/beds/{bed.pk}").json()
    listed = next(row for row in client.get("/api/v1/beds").json()["results"] if row["id"] == bed.pk)
    for row in (detail, listed):
        assert row["status"] == "reserved"
        assert (row["reservation"] is not None) == shown
        if shown:
            assert row["reservation"]["patient_id"] == patient.pk


def test_an_unreserved_bed_shows_no_reservation(doctor_client, bed):
    assert doctor_client.get(f"/api/v1/beds/{bed.pk}").json()["reservation"] is None


# --- admit ------------------------------------------------------------------------------------


def test_only_the_reserved_patient_is_admitted(doctor_client, bed, patient, other_patient):
    assert reserve(doctor_client, bed, patient).status_code == 200
    for body in ({"patient_id": other_patient.pk}, {"patient_name": "Walk-in"}):
        response = admit(doctor_client, bed, **body)
        assert response.status_code == 409 and error(response)["code"] == "bed_reserved"
    assert not Admission.objects.exists() and fields(bed)[:2] == (BedStatus.RESERVED, patient.pk)

    response = admit(doctor_client, bed, patient_id=patient.pk, reason="Transferred in")
    assert response.status_code == 201, response.content
    assert fields(bed) == (BedStatus.OCCUPIED, None, None, "")
    entry = Activity.objects.get(object_type="admission", object_id=str(response.json()["id"]))
    assert entry.detail == {"bed_id": bed.pk, "reservation_used": True}
    shown = doctor_client.get(f"/api/v1/beds/{bed.pk}").json()
    assert shown["status"] == "occupied" and shown["reservation"] is None
    assert shown["current_admission"]["patient_id"] == patient.pk


def test_a_bed_reserved_by_status_still_admits_anyone(doctor_client, hospital, patient):
    bed = BedFactory(ward=WardFactory(hospital=hospital), status=BedStatus.RESERVED)
    assert admit(doctor_client, bed, patient_id=patient.pk).status_code == 201


def test_transfer_to_a_bed_reserved_for_a_patient_is_409(doctor_client, hospital, bed, patient, other_patient):
    admission = AdmissionFactory(bed=BedFactory(ward=bed.ward), patient=other_patient)
    assert reserve(doctor_client, bed, patient).status_code == 200
    response = doctor_client.post(f"/api/v1/beds/{admission.bed_id}/transfer", {"to_bed_id": bed.pk}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "bed_reserved"
    assert fields(bed)[:2] == (BedStatus.RESERVED, patient.pk)


# --- release ----------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "doctor_client"])
def test_release_makes_the_bed_available(request, client_name, doctor_client, bed, patient, hospital):
    assert reserve(doctor_client, bed, patient).status_code == 200
    response = release(request.getfixturevalue(client_name), bed)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "available" and response.json()["reservation"] is None
    assert fields(bed) == UNRESERVED
    entry = Activity.objects.get(object_type="bed", object_id=str(bed.pk), detail__operation="release")
    assert entry.patient_id == patient.pk
    event = PendingEvent.objects.filter(topic=f"hospital.{hospital.pk}.beds").last()
    assert event.data["by_bed_type"]["icu"]["free"] == 1
    # Nothing is held any more.
    response = release(doctor_client, bed)
    assert response.status_code == 409 and error(response)["code"] == "not_reserved"


@pytest.mark.parametrize(
    ("client_name", "status_code"),
    [("api", 401), ("patient_client", 403), ("driver_client", 403), ("other_hospital_admin_client", 403)],
)
def test_others_cannot_release_and_the_reservation_stays(
    request, doctor_client, bed, patient, client_name, status_code
):
    assert reserve(doctor_client, bed, patient).status_code == 200
    before = fields(bed)
    assert release(request.getfixturevalue(client_name), bed).status_code == status_code
    assert fields(bed) == before


@pytest.mark.parametrize("status", [BedStatus.AVAILABLE, BedStatus.CLEANING, BedStatus.MAINTENANCE])
def test_release_of_a_bed_holding_no_reservation_is_409(doctor_client, hospital, status):
    bed = BedFactory(ward=WardFactory(hospital=hospital), status=status)
    response = release(doctor_client, bed)
    assert response.status_code == 409 and error(response)["code"] == "not_reserved"
    assert fields(bed) == (status, None, None, "")


def test_release_ends_the_manual_reserved_status(doctor_client, hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital), status=BedStatus.RESERVED)
    assert release(doctor_client, bed).status_code == 200
    assert fields(bed) == UNRESERVED


def test_release_of_an_occupied_bed_is_409(doctor_client, hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    response = release(doctor_client, admission.bed)
    assert response.status_code == 409 and error(response)["code"] == "not_reserved"


# --- /status beside reservations ----------------------------------------------------------------


@pytest.mark.parametrize("status", ["available", "cleaning", "maintenance"])
def test_a_status_change_ends_a_patients_reservation(doctor_client, bed, patient, status):
    assert reserve(doctor_client, bed, patient).status_code == 200
    response = doctor_client.post(f"/api/v1/beds/{bed.pk}/status", {"status": status}, format="json")
    assert response.status_code == 200 and response.json()["reservation"] is None
    assert fields(bed) == (status, None, None, "")
    entry = Activity.objects.get(object_type="bed", object_id=str(bed.pk), detail__operation="status")
    assert entry.patient_id == patient.pk and entry.detail["from"] == "reserved"


def test_status_reserved_keeps_a_patients_reservation(doctor_client, bed, patient):
    assert reserve(doctor_client, bed, patient).status_code == 200
    response = doctor_client.post(f"/api/v1/beds/{bed.pk}/status", {"status": "reserved"}, format="json")
    assert response.status_code == 200 and response.json()["reservation"]["patient_id"] == patient.pk
    assert fields(bed)[:2] == (BedStatus.RESERVED, patient.pk)


# --- lapse, with no job running -------------------------------------------------------------------


@pytest.fixture
def lapsed(doctor_client, bed, patient):
    """A bed reserved for `patient` until a minute from now, seen a minute after that (the access
    tokens are still valid)."""
    now = timezone.now()
    until = now + timedelta(minutes=1)
    assert reserve(doctor_client, bed, patient, until=until).status_code == 200
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        yield bed
    bed.refresh_from_db()


def test_a_lapsed_reservation_reads_as_an_available_bed(api, doctor_client, hospital, lapsed):
    assert Bed.objects.get(pk=lapsed.pk).status == BedStatus.RESERVED  # nothing has rewritten the row
    shown = doctor_client.get(f"/api/v1/beds/{lapsed.pk}").json()
    assert shown["status"] == "available" and shown["reservation"] is None
    summary = api.get(f"/api/v1/hospitals/{hospital.pk}/availability").json()
    assert summary["by_status"]["available"] == 1 and summary["by_status"]["reserved"] == 0
    assert summary["by_bed_type"]["icu"] == {"total": 1, "free": 1, "occupied": 0, "reserved": 0, "maintenance": 0}
    assert summary["by_ward_type"]["general"]["available"] == 1
    assert [row["id"] for row in api.get("/api/v1/hospitals?has_bed_type=icu").json()["results"]] == [hospital.pk]
    assert [row["id"] for row in api.get("/api/v1/hospitals?has_beds=any").json()["results"]] == [hospital.pk]
    assert [row["id"] for row in api.get("/api/v1/beds?status=available").json()["results"]] == [lapsed.pk]
    assert api.get("/api/v1/beds?status=reserved").json()["count"] == 0


def test_a_live_reservation_reads_as_reserved_until_it_lapses(api, doctor_client, hospital, bed, patient):
    now = timezone.now()
    assert reserve(doctor_client, bed, patient, until=now + timedelta(hours=1)).status_code == 200
    for minutes, status in ((59, "reserved"), (60, "available")):
        with time_machine.travel(now + timedelta(minutes=minutes), tick=False):
            assert api.get(f"/api/v1/beds/{bed.pk}").json()["status"] == status
            counts = api.get(f"/api/v1/hospitals/{hospital.pk}/availability").json()["by_bed_type"]["icu"]
            assert counts["free"] == (status == "available")
            assert api.get("/api/v1/hospitals?has_bed_type=icu").json()["count"] == (status == "available")


def test_anyone_is_admitted_to_a_lapsed_reservation(doctor_client, lapsed, other_patient):
    response = admit(doctor_client, lapsed, patient_id=other_patient.pk)
    assert response.status_code == 201, response.content
    assert fields(lapsed) == (BedStatus.OCCUPIED, None, None, "")


def test_a_lapsed_reservation_can_be_reserved_again(doctor_client, lapsed, other_patient):
    response = reserve(doctor_client, lapsed, other_patient)
    assert response.status_code == 200 and response.json()["reservation"]["patient_id"] == other_patient.pk
    assert fields(lapsed)[:2] == (BedStatus.RESERVED, other_patient.pk)


def test_a_lapsed_reservation_cannot_be_released(doctor_client, lapsed):
    response = release(doctor_client, lapsed)
    assert response.status_code == 409 and error(response)["code"] == "not_reserved"


def test_a_lapsed_reservation_takes_a_transfer(doctor_client, lapsed, other_patient):
    admission = AdmissionFactory(bed=BedFactory(ward=lapsed.ward), patient=other_patient)
    response = doctor_client.post(f"/api/v1/beds/{admission.bed_id}/transfer", {"to_bed_id": lapsed.pk}, format="json")
    assert response.status_code == 200, response.content
    assert fields(lapsed) == (BedStatus.OCCUPIED, None, None, "")


def test_status_reserved_on_a_lapsed_reservation_holds_it_for_nobody(doctor_client, lapsed):
    response = doctor_client.post(f"/api/v1/beds/{lapsed.pk}/status", {"status": "reserved"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "reserved"
    assert fields(lapsed) == (BedStatus.RESERVED, None, None, "")


def test_cached_availability_and_lists_turn_over_when_a_reservation_lapses(
    settings, api, doctor_client, hospital, bed, patient
):
    settings.READ_CACHE_SECONDS = 7 * 24 * 3600  # entries outlive the time travelled
    now = timezone.now()
    assert reserve(doctor_client, bed, patient, until=now + timedelta(hours=1)).status_code == 200
    availability = f"/api/v1/hospitals/{hospital.pk}/availability"
    with time_machine.travel(now + timedelta(minutes=30), tick=False):
        assert api.get(availability).json()["by_bed_type"]["icu"]["reserved"] == 1
        assert api.get("/api/v1/hospitals?has_bed_type=icu").json()["count"] == 0
    with time_machine.travel(now + timedelta(minutes=61), tick=False):
        assert api.get(availability).json()["by_bed_type"]["icu"]["free"] == 1
        assert api.get("/api/v1/hospitals?has_bed_type=icu").json()["count"] == 1


# --- the database backstop ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"status": BedStatus.AVAILABLE, "reserved_until": timezone.now()},  # set while not reserved
        {"status": BedStatus.RESERVED, "reserved_until": timezone.now()},  # until without a patient
        {"status": BedStatus.RESERVED, "reservation_reason": "why"},  # a reason alone
    ],
)
def test_the_database_refuses_a_partial_or_misplaced_reservation(bed, patient, values):
    with pytest.raises(IntegrityError), transaction.atomic():
        Bed.objects.filter(pk=bed.pk).update(**values)


def test_the_database_refuses_a_reservation_on_an_available_bed(bed, patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        Bed.objects.filter(pk=bed.pk).update(reserved_for=patient, reserved_until=timezone.now())
