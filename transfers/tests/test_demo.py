import pytest

from accounts.tests.factories import HospitalFactory, UserFactory
from transfers.demo import DEMO_REASON, seed_transfers
from transfers.models import Referral

pytestmark = pytest.mark.django_db


def test_seed_transfers_makes_one_requested_referral_and_is_idempotent(admin_user):
    hospitals = [HospitalFactory(), HospitalFactory()]
    patient = UserFactory(role="user")
    first = seed_transfers(hospitals=hospitals, patient=patient, by=admin_user)
    again = seed_transfers(hospitals=hospitals, patient=patient, by=admin_user)
    assert first.pk == again.pk and Referral.objects.count() == 1
    assert (first.status, first.reason, first.bed_type) == ("requested", DEMO_REASON, "icu")
    assert (first.from_hospital_id, first.to_hospital_id) == (hospitals[0].pk, hospitals[1].pk)
    assert first.events.count() == 1


def test_seed_transfers_leaves_a_patient_already_being_referred_alone(admin_user):
    hospitals = [HospitalFactory(), HospitalFactory()]
    patient = UserFactory(role="user")
    Referral.objects.create(patient=patient, from_hospital=hospitals[1], to_hospital=hospitals[0], reason="Other")
    assert seed_transfers(hospitals=hospitals, patient=patient, by=admin_user) is None
    assert Referral.objects.count() == 1
