import pytest

from appointments.tests.factories import DoctorFactory, SlotFactory
from notifications.services import Spec, notifications_create


@pytest.fixture
def doctor(doctor_user, hospital):
    return DoctorFactory(user=doctor_user, hospital=hospital)


@pytest.fixture
def slot(doctor):
    return SlotFactory(doctor=doctor, capacity=5)


def notify(user, key: str, *, category="account", title="Hello", body="A message.", **extra):
    """One notification for `user` (the default templates: `title` and `body` as given)."""
    spec = Spec(key=key, user_id=user.pk, category=category, event="test.message",
                context={"title": title, "body": body}, **extra)  # fmt: skip
    created = notifications_create([spec])
    return created[0] if created else None
