"""Referral races on real PostgreSQL transactions, with real threads started together."""

import pytest

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory, UserFactory
from conftest import client_for, run_together
from emergency.models import Ambulance, Emergency
from emergency.tests.factories import EmergencyFactory
from hospitals.models import Admission, Bed, BedStatus, BedType
from hospitals.tests.factories import BedFactory
from transfers import services
from transfers.models import Referral

pytestmark = pytest.mark.django_db(transaction=True)


def _requested(*, admin, to_hospital, from_hospital=None) -> Referral:
    return services.referral_request(
        by=admin,
        patient=UserFactory(role="user"),
        from_hospital=from_hospital or HospitalFactory(),
        to_hospital=to_hospital,
        reason="Needs ICU",
        bed_type=BedType.ICU,
    )


@pytest.mark.parametrize("named", [False, True], ids=["first-free", "named-bed"])
def test_two_acceptances_for_the_last_icu_bed_one_wins(admin_user, other_hospital, icu_bed, named):
    BedFactory(ward=icu_bed.ward, bed_type=BedType.GENERAL)  # a free bed of another type never counts
    referrals = [_requested(admin=admin_user, to_hospital=other_hospital) for _ in range(2)]
    admins = [client_for(UserFactory(role="hospital_admin", hospital=other_hospital)) for _ in range(2)]
    body = {"bed_id": icu_bed.pk} if named else {}
    responses = run_together(
        [
            lambda: admins[0].post(f"/api/v1/referrals/{referrals[0].pk}/accept", body, format="json"),
            lambda: admins[1].post(f"/api/v1/referrals/{referrals[1].pk}/accept", body, format="json"),
        ]
    )
    assert sorted(response.status_code for response in responses) == [200, 409]
    refused = next(response for response in responses if response.status_code == 409)
    assert refused.json()["errors"][0]["code"] == ("bed_reserved" if named else "no_bed")
    accepted = Referral.objects.get(status=Referral.Status.ACCEPTED)
    assert Referral.objects.filter(status=Referral.Status.REQUESTED).count() == 1
    icu_bed.refresh_from_db()
    assert icu_bed.status == BedStatus.RESERVED and icu_bed.reserved_for_id == accepted.patient_id
    assert accepted.reserved_bed_id == icu_bed.pk


def test_many_acceptances_never_hold_one_bed_twice(admin_user, other_hospital, icu_bed):
    BedFactory(ward=icu_bed.ward, bed_type=BedType.ICU)
    referrals = [_requested(admin=admin_user, to_hospital=other_hospital) for _ in range(5)]
    client = client_for(admin_user)
    responses = run_together(
        [
            lambda referral=referral: client.post(f"/api/v1/referrals/{referral.pk}/accept", {}, format="json")
            for referral in referrals
        ]
    )
    assert sorted(response.status_code for response in responses) == [200, 200, 409, 409, 409]
    held = list(Referral.objects.filter(status="accepted").values_list("reserved_bed_id", flat=True))
    assert len(held) == len(set(held)) == 2
    assert Bed.objects.filter(hospital=other_hospital, bed_type=BedType.ICU, status=BedStatus.RESERVED).count() == 2


@pytest.mark.parametrize("round_", range(3))
def test_completion_racing_a_discharge_at_the_origin_discharges_once_and_admits_once(
    make_referral, origin_admission, hospital_admin, other_hospital_admin, patient, icu_bed, ambulance, round_
):
    referral = make_referral(Referral.Status.IN_TRANSIT)
    origin, destination = client_for(hospital_admin), client_for(other_hospital_admin)
    complete, discharge = run_together(
        [
            lambda: destination.post(f"/api/v1/referrals/{referral.pk}/complete", {}, format="json"),
            lambda: origin.post(f"/api/v1/beds/{origin_admission.bed_id}/discharge", {}, format="json"),
        ]
    )
    # Whichever goes first, the referral completes; a discharge that comes second finds nothing to discharge.
    assert complete.status_code == 200, complete.json()
    assert discharge.status_code in (200, 409)
    if discharge.status_code == 409:
        assert discharge.json()["errors"][0]["code"] == "no_active_admission"
    origin_admission.refresh_from_db()
    assert origin_admission.discharged_at is not None
    discharges = Activity.objects.filter(object_type="admission", object_id=str(origin_admission.pk), action="action")
    assert discharges.count() == 1
    active = Admission.objects.get(patient=patient, discharged_at__isnull=True)
    assert active.bed_id == icu_bed.pk
    assert Bed.objects.get(pk=origin_admission.bed_id).status == BedStatus.CLEANING
    assert Bed.objects.get(pk=icu_bed.pk).status == BedStatus.OCCUPIED
    assert Ambulance.objects.get(pk=ambulance.pk).status == Ambulance.Status.AVAILABLE


def test_complete_racing_cancel_one_wins_and_leaves_bed_and_ambulance_consistent(
    make_referral, origin_admission, other_hospital_admin, hospital_admin, patient, icu_bed, ambulance
):
    referral = make_referral(Referral.Status.IN_TRANSIT)
    origin, destination = client_for(hospital_admin), client_for(other_hospital_admin)
    complete, cancel = run_together(
        [
            lambda: destination.post(f"/api/v1/referrals/{referral.pk}/complete", {}, format="json"),
            lambda: origin.post(f"/api/v1/referrals/{referral.pk}/cancel", {"reason": "Refused"}, format="json"),
        ]
    )
    assert sorted([complete.status_code, cancel.status_code]) == [200, 409]
    referral.refresh_from_db()
    bed = Bed.objects.get(pk=icu_bed.pk)
    if referral.status == Referral.Status.COMPLETED:
        assert bed.status == BedStatus.OCCUPIED
        assert Admission.objects.get(patient=patient, discharged_at__isnull=True).bed_id == icu_bed.pk
    else:
        assert referral.status == Referral.Status.CANCELLED
        assert bed.status == BedStatus.AVAILABLE and bed.reserved_for_id is None
        assert Admission.objects.get(patient=patient, discharged_at__isnull=True).pk == origin_admission.pk
    assert Ambulance.objects.get(pk=ambulance.pk).status == Ambulance.Status.AVAILABLE


def test_a_transfer_and_an_emergency_racing_for_one_ambulance_one_wins(make_referral, admin_user, hospital, ambulance):
    referral = make_referral(Referral.Status.ACCEPTED)
    emergency = EmergencyFactory(hospital=hospital)
    client = client_for(admin_user)
    body = {"ambulance_id": ambulance.pk}
    transfer, dispatch = run_together(
        [
            lambda: client.post(f"/api/v1/referrals/{referral.pk}/dispatch", body, format="json"),
            lambda: client.post(f"/api/v1/emergencies/{emergency.pk}/dispatch", body, format="json"),
        ]
    )
    assert sorted([transfer.status_code, dispatch.status_code]) == [200, 409]
    on_transfer = Referral.objects.filter(ambulance=ambulance, status="in_transit").count()
    on_emergency = Emergency.objects.filter(ambulance=ambulance, status__in=Emergency.OPEN_STATUSES).count()
    assert on_transfer + on_emergency == 1
