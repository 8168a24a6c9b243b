import pytest

from accounts.tests.factories import UserFactory
from conftest import client_for
from emergency.models import Emergency
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory


@pytest.fixture
def ambulance(hospital, driver_user):
    """An available ambulance of `hospital`, driven by `driver_user`, parked near the hospital."""
    return AmbulanceFactory(hospital=hospital, driver=driver_user, latitude=18.521, longitude=73.851)


@pytest.fixture
def other_driver(other_hospital):
    return UserFactory(role="ambulance_driver", hospital=other_hospital)


@pytest.fixture
def other_driver_client(other_driver):
    return client_for(other_driver)


@pytest.fixture
def emergency(hospital, patient):
    """A reported emergency at `hospital`, reported by `patient`."""
    return EmergencyFactory(hospital=hospital, reporter=patient)


@pytest.fixture
def make_emergency_at(hospital, driver_user):
    """An emergency already in `status`, with an ambulance (driven by driver_user) wherever one is due."""

    def make(status: str, **kwargs) -> Emergency:
        ambulance = None
        if status != Emergency.Status.REPORTED:
            ambulance_status = Emergency.AMBULANCE_STATUS_FOR[status]
            ambulance = AmbulanceFactory(hospital=hospital, driver=driver_user, status=ambulance_status)
        return EmergencyFactory(hospital=hospital, ambulance=ambulance, status=status, **kwargs)

    return make
