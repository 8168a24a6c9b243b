import io

import pytest

from accounts.models import User
from accounts.tests.factories import HospitalFactory
from emergency.demo import DRIVER_PASSWORD, seed_emergency
from emergency.models import Ambulance, AmbulanceLocation

pytestmark = pytest.mark.django_db


def test_seed_emergency_is_idempotent_and_the_driver_can_sign_in(api):
    hospitals = [HospitalFactory(), HospitalFactory(latitude=None, longitude=None)]
    out = io.StringIO()
    seed_emergency(hospitals=hospitals, stdout=out)
    seed_emergency(hospitals=hospitals)
    assert Ambulance.objects.count() == 4
    assert AmbulanceLocation.objects.count() == 2
    driver = User.objects.get(username="driver")
    assert driver.role == "ambulance_driver" and driver.hospital_id == hospitals[0].pk
    assert User.objects.get(username="driver2").hospital_id == hospitals[1].pk
    driven = Ambulance.objects.get(driver=driver)
    assert driven.hospital_id == hospitals[0].pk
    assert abs(driven.latitude - hospitals[0].latitude) < 0.05 and driven.location_updated_at is not None
    assert Ambulance.objects.filter(hospital=hospitals[1], latitude__isnull=True).count() == 2
    assert "driver" in out.getvalue() and DRIVER_PASSWORD in out.getvalue()
    login = api.post("/auth/login", {"username": "driver", "password": DRIVER_PASSWORD})
    assert login.status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Bearer " + login.json()["access"])
    assert api.get("/api/v1/ambulances").json()["count"] == 2
