import pytest

from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory


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


@pytest.fixture
def appointment(slot, patient):
    """`patient`'s booked appointment in `slot`."""
    return AppointmentFactory(slot=slot, patient=patient)
