"""Referral fixtures: `hospital` is the origin, `other_hospital` the destination (with one free ICU bed)."""

import pytest

from accounts.tests.factories import HospitalFactory, UserFactory
from conftest import client_for
from emergency.tests.factories import AmbulanceFactory
from hospitals.models import BedType
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory
from transfers import services
from transfers.models import Referral


@pytest.fixture
def icu_bed(other_hospital):
    """The destination's one free ICU bed."""
    return BedFactory(ward=WardFactory(hospital=other_hospital, ward_type="icu"), bed_type=BedType.ICU)


@pytest.fixture
def origin_admission(hospital, patient):
    """The patient lies in a bed at the origin."""
    return AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital), status="occupied"), patient=patient)


@pytest.fixture
def ambulance(hospital):
    return AmbulanceFactory(hospital=hospital, latitude=hospital.latitude, longitude=hospital.longitude)


# The short names `people` gives every role the rules name, in the order the tests list them.
ROLES = (
    "admin",
    "origin_admin",
    "origin_doctor",
    "origin_driver",
    "destination_admin",
    "destination_doctor",
    "destination_driver",
    "third_admin",
    "third_doctor",
    "patient",
    "other_patient",
    "donor",
)


@pytest.fixture
def people(
    admin_user,
    hospital_admin,
    doctor_user,
    driver_user,
    other_hospital,
    other_hospital_admin,
    patient,
    other_patient,
    donor,
):
    """Every role the rules name, by a short name: the root fixtures' origin staff and destination admin,
    the destination's doctor and driver, and the staff of two hospitals outside the referral."""
    return {
        "admin": admin_user,
        "origin_admin": hospital_admin,
        "origin_doctor": doctor_user,
        "origin_driver": driver_user,
        "destination_admin": other_hospital_admin,
        "destination_doctor": UserFactory(role="doctor", hospital=other_hospital),
        "destination_driver": UserFactory(role="ambulance_driver", hospital=other_hospital),
        "third_admin": UserFactory(role="hospital_admin", hospital=HospitalFactory()),
        "third_doctor": UserFactory(role="doctor", hospital=HospitalFactory()),
        "patient": patient,
        "other_patient": other_patient,
        "donor": donor,
    }


@pytest.fixture
def clients(people):
    return {name: client_for(user) for name, user in people.items()}


@pytest.fixture
def make_referral(hospital, other_hospital, patient, admin_user, icu_bed, ambulance, origin_admission):
    """A referral of `patient` from `hospital` to `other_hospital` brought to `status` by the services."""

    def make(status: str = Referral.Status.REQUESTED) -> Referral:
        referral = services.referral_request(
            by=admin_user,
            patient=patient,
            from_hospital=hospital,
            to_hospital=other_hospital,
            reason="Needs intensive care",
            bed_type=BedType.ICU,
        )
        steps = {
            Referral.Status.REJECTED: [("reject", {"reason": "No specialist"})],
            Referral.Status.ACCEPTED: [("accept", {})],
            Referral.Status.IN_TRANSIT: [("accept", {}), ("dispatch", {})],
            Referral.Status.COMPLETED: [("accept", {}), ("dispatch", {}), ("complete", {})],
            Referral.Status.CANCELLED: [("cancel", {"reason": "Family declined"})],
        }.get(status, [])
        for step, kwargs in steps:
            referral = getattr(services, f"referral_{step}")(by=admin_user, referral=referral, **kwargs)
        referral.refresh_from_db()
        assert referral.status == status
        return referral

    return make
