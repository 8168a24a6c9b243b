"""Concurrent bed operations on real PostgreSQL transactions: the invariants hold whoever wins."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import client_for, run_together
from hospitals.models import Admission, Bed, BedStatus
from hospitals.tests.factories import AdmissionFactory, BedFactory, HospitalFactory, UserFactory, WardFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ward():
    return WardFactory(hospital=HospitalFactory())


@pytest.fixture
def doctor(ward):
    return UserFactory(role="doctor", hospital=ward.hospital)


def test_ten_patients_admitted_to_one_bed_at_once_one_wins(ward, doctor):
    bed = BedFactory(ward=ward)
    patients = UserFactory.create_batch(10, role="user")
    clients = [client_for(doctor) for _ in patients]
    calls = [
        (lambda c=c, p=p: c.post(f"/api/v1/beds/{bed.pk}/admit", {"patient_id": p.pk}, format="json").status_code)
        for c, p in zip(clients, patients, strict=True)
    ]
    statuses = run_together(calls)
    assert sorted(statuses) == [201] + [409] * 9
    assert Admission.objects.filter(bed=bed).count() == 1
    assert Admission.objects.filter(bed=bed, discharged_at__isnull=True).count() == 1
    assert Bed.objects.get(pk=bed.pk).status == BedStatus.OCCUPIED


def test_ten_walk_ins_admitted_to_one_bed_at_once_one_wins(ward, doctor):
    bed = BedFactory(ward=ward)
    clients = [client_for(doctor) for _ in range(10)]
    calls = [
        (lambda c=c, i=i: c.post(f"/api/v1/beds/{bed.pk}/admit", {"patient_name": f"Walk-in {i}"}).status_code)
        for i, c in enumerate(clients)
    ]
    assert sorted(run_together(calls)) == [201] + [409] * 9
    assert Admission.objects.filter(bed=bed).count() == 1


def test_one_patient_admitted_to_two_beds_at_once_one_succeeds(ward, doctor):
    patient = UserFactory(role="user")
    beds = BedFactory.create_batch(2, ward=ward)
    clients = [client_for(doctor) for _ in beds]
    calls = [
        (lambda c=c, b=b: c.post(f"/api/v1/beds/{b.pk}/admit", {"patient_id": patient.pk}).status_code)
        for c, b in zip(clients, beds, strict=True)
    ]
    assert sorted(run_together(calls)) == [201, 409]
    assert Admission.objects.filter(patient=patient, discharged_at__isnull=True).count() == 1
    statuses = sorted(Bed.objects.filter(pk__in=[b.pk for b in beds]).values_list("status", flat=True))
    assert statuses == [BedStatus.AVAILABLE, BedStatus.OCCUPIED]


def test_one_patient_admitted_to_eight_beds_at_once_one_succeeds(ward, doctor):
    patient = UserFactory(role="user")
    beds = BedFactory.create_batch(8, ward=ward)
    clients = [client_for(doctor) for _ in beds]
    calls = [
        (lambda c=c, b=b: c.post(f"/api/v1/beds/{b.pk}/admit", {"patient_id": patient.pk}).status_code)
        for c, b in zip(clients, beds, strict=True)
    ]
    assert sorted(run_together(calls)) == [201] + [409] * 7
    assert Admission.objects.filter(patient=patient).count() == 1
    assert Bed.objects.filter(ward=ward, status=BedStatus.OCCUPIED).count() == 1


def test_two_transfers_into_one_free_bed_one_wins(ward, doctor):
    first = AdmissionFactory(bed=BedFactory(ward=ward))
    second = AdmissionFactory(bed=BedFactory(ward=ward))
    target = BedFactory(ward=ward)
    clients = [client_for(doctor), client_for(doctor)]
    calls = [
        (lambda c=c, a=a: c.post(f"/api/v1/beds/{a.bed_id}/transfer", {"to_bed_id": target.pk}).status_code)
        for c, a in zip(clients, [first, second], strict=True)
    ]
    assert sorted(run_together(calls)) == [200, 409]
    assert Admission.objects.filter(bed=target, discharged_at__isnull=True).count() == 1
    assert Bed.objects.get(pk=target.pk).status == BedStatus.OCCUPIED
    # Exactly one source bed was freed (cleaning); the loser still occupies its own bed.
    sources = sorted(Bed.objects.filter(pk__in=[first.bed_id, second.bed_id]).values_list("status", flat=True))
    assert sources == [BedStatus.CLEANING, BedStatus.OCCUPIED]


def test_admit_and_transfer_racing_for_one_bed_one_wins(ward, doctor):
    moving = AdmissionFactory(bed=BedFactory(ward=ward))
    target = BedFactory(ward=ward)
    newcomer = UserFactory(role="user")
    admit_client, transfer_client = client_for(doctor), client_for(doctor)
    results = run_together(
        [
            lambda: admit_client.post(f"/api/v1/beds/{target.pk}/admit", {"patient_id": newcomer.pk}).status_code,
            lambda: (
                transfer_client.post(f"/api/v1/beds/{moving.bed_id}/transfer", {"to_bed_id": target.pk}).status_code
            ),
        ]
    )
    assert sorted(results) in ([200, 409], [201, 409])
    assert Admission.objects.filter(bed=target, discharged_at__isnull=True).count() == 1


def test_opposite_transfers_do_not_deadlock(ward, doctor):
    """A->B and B->A lock both beds in primary-key order, so neither waits on the other forever."""
    first = AdmissionFactory(bed=BedFactory(ward=ward))
    second = AdmissionFactory(bed=BedFactory(ward=ward))
    clients = [client_for(doctor), client_for(doctor)]
    results = run_together(
        [
            lambda: clients[0].post(f"/api/v1/beds/{first.bed_id}/transfer", {"to_bed_id": second.bed_id}).status_code,
            lambda: clients[1].post(f"/api/v1/beds/{second.bed_id}/transfer", {"to_bed_id": first.bed_id}).status_code,
        ]
    )
    assert results == [409, 409]
    assert Admission.objects.get(pk=first.pk).bed_id == first.bed_id
    assert Admission.objects.get(pk=second.pk).bed_id == second.bed_id


def test_a_reservation_and_another_patients_admission_racing_for_one_bed_one_wins(ward, doctor):
    reserved_for, admitted = UserFactory(role="user"), UserFactory(role="user")
    for _ in range(5):
        bed = BedFactory(ward=ward)
        until = (timezone.now() + timedelta(hours=2)).isoformat()
        reserving, admitting = client_for(doctor), client_for(doctor)
        reserve, admit = run_together(
            [
                lambda: reserving.post(
                    f"/api/v1/beds/{bed.pk}/reserve", {"patient_id": reserved_for.pk, "until": until}, format="json"
                ),
                lambda: admitting.post(f"/api/v1/beds/{bed.pk}/admit", {"patient_id": admitted.pk}, format="json"),
            ]
        )
        bed.refresh_from_db()
        active = list(Admission.objects.filter(bed=bed, discharged_at__isnull=True))
        if reserve.status_code == 200:
            # The reservation came first: the admission of someone else was refused.
            assert admit.status_code == 409 and admit.json()["errors"][0]["code"] == "bed_reserved"
            assert (bed.status, bed.reserved_for_id, active) == (BedStatus.RESERVED, reserved_for.pk, [])
        else:
            assert admit.status_code == 201 and reserve.status_code == 409
            assert reserve.json()["errors"][0]["code"] == "bed_occupied"
            assert (bed.status, bed.reserved_for_id, bed.reserved_until) == (BedStatus.OCCUPIED, None, None)
            assert [admission.patient_id for admission in active] == [admitted.pk]
            Admission.objects.filter(bed=bed).update(discharged_at=timezone.now())  # free the patient


def test_two_reservations_racing_for_one_bed_one_wins(ward, doctor):
    bed = BedFactory(ward=ward)
    patients = UserFactory.create_batch(6, role="user")
    until = (timezone.now() + timedelta(hours=2)).isoformat()
    clients = [client_for(doctor) for _ in patients]
    calls = [
        (
            lambda c=c, p=p: (
                c.post(
                    f"/api/v1/beds/{bed.pk}/reserve", {"patient_id": p.pk, "until": until}, format="json"
                ).status_code
            )
        )
        for c, p in zip(clients, patients, strict=True)
    ]
    assert sorted(run_together(calls)) == [200] + [409] * 5
    bed.refresh_from_db()
    assert bed.status == BedStatus.RESERVED and bed.reserved_for_id in {p.pk for p in patients}
