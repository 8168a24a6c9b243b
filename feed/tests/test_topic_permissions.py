"""Who may follow each topic (API.md section 15), for every role, through the polling list (the
stream, the WebSocket and the tickets ask the same registry: test_stream.py shows them refusing)."""

import pytest

from accounts.tests.factories import HospitalFactory, UserFactory
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    hospital, elsewhere = HospitalFactory(), HospitalFactory()
    driver = UserFactory(role="ambulance_driver", hospital=hospital)
    ambulance = AmbulanceFactory(hospital=hospital, driver=driver)
    reporter = UserFactory(role="user")
    emergency = EmergencyFactory(hospital=hospital, reporter=reporter, ambulance=ambulance)
    users = {
        "anonymous": None,
        "admin": UserFactory(role="admin", is_staff=True, is_superuser=True),
        "hospital_admin": UserFactory(role="hospital_admin", hospital=hospital),
        "doctor": UserFactory(role="doctor", hospital=hospital),
        "driver": driver,
        "other_driver": UserFactory(role="ambulance_driver", hospital=hospital),
        "other_hospital_admin": UserFactory(role="hospital_admin", hospital=elsewhere),
        "reporter": reporter,
        "patient": UserFactory(role="user"),
        "donor": UserFactory(role="donor"),
    }
    return {"hospital": hospital, "ambulance": ambulance, "emergency": emergency, "users": users}


EVERYONE = {"anonymous", "admin", "hospital_admin", "doctor", "driver", "other_driver", "other_hospital_admin"}
EVERYONE |= {"reporter", "patient", "donor"}
SIGNED_IN = EVERYONE - {"anonymous"}
# Emergency readers: admin, its hospital's staff (any staff role), its reporter, its ambulance's driver.
EMERGENCY = {"admin", "hospital_admin", "doctor", "driver", "other_driver", "reporter"}
# Ambulance location: its hospital's staff, its driver, admin.
LOCATION = {"admin", "hospital_admin", "doctor", "driver", "other_driver"}


def _status(world, who, topic):
    user = world["users"][who]
    client = client_for(user) if user is not None else None
    if client is None:
        from rest_framework.test import APIClient

        client = APIClient()
    return client.get(f"/api/v1/events?topics={topic}").status_code


@pytest.mark.parametrize(
    ("template", "allowed"),
    [
        ("hospital.{hospital}.beds", EVERYONE),
        ("hospital.{hospital}.slots", EVERYONE),
        ("hospital.{hospital}.queue", EVERYONE),
        ("bloodbank.{bank}.stock", EVERYONE),
        ("emergency.{emergency}", EMERGENCY),
        ("ambulance.{ambulance}.location", LOCATION),
        ("user.{patient}", {"patient"}),
        ("dashboard", SIGNED_IN),
    ],
)
def test_each_topic_is_followed_by_exactly_the_roles_the_contract_names(world, template, allowed):
    topic = template.format(
        hospital=world["hospital"].pk,
        bank=BloodBankFactory().pk,
        emergency=world["emergency"].pk,
        ambulance=world["ambulance"].pk,
        patient=world["users"]["patient"].pk,
    )
    for who in sorted(EVERYONE):
        expected = 200 if who in allowed else (401 if who == "anonymous" else 404)
        assert _status(world, who, topic) == expected, (who, topic)


def test_topics_of_deactivated_or_missing_rows_are_404_but_admins_follow_deactivated_ones(world):
    closed = HospitalFactory(is_active=False)
    assert _status(world, "patient", f"hospital.{closed.pk}.beds") == 404
    assert _status(world, "admin", f"hospital.{closed.pk}.beds") == 200
    for topic in ("hospital.99999999.beds", "emergency.99999999", "ambulance.99999999.location"):
        assert _status(world, "admin", topic) == 404
