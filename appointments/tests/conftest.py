import pytest

from appointments.tests.factories import DoctorFactory, SlotFactory


@pytest.fixture
def doctor(doctor_user, hospital):
    """The doctor profile of the `doctor_user` account (at `hospital`)."""
    return DoctorFactory(user=doctor_user, hospital=hospital)


@pytest.fixture
def other_doctor(other_hospital):
    return DoctorFactory(hospital=other_hospital)


@pytest.fixture
def slot(doctor):
    """A future open slot of `doctor`, capacity 5."""
    return SlotFactory(doctor=doctor, capacity=5)
