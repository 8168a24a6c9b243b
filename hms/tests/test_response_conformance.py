"""Every GET answers what the schema documents, over data in every shape the API can leave behind:
the demo data plus rows with each optional link empty (walk-in admissions, address-only emergencies,
banks without a hospital, ambulances without a driver or position) and rows moved through the
actions (admitted, discharged, booked, cancelled, approved, dispatched, visited, donated).

Schemathesis (`make fuzz`) checks the same on whatever an empty or seeded database holds; this test
makes sure the null and blank shapes are met on every run."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.demo import seed_appointments
from appointments.models import Doctor, Slot
from appointments.tests.factories import AppointmentFactory
from bloodbank.demo import seed_bloodbank
from bloodbank.models import BloodBank
from bloodbank.tests.factories import BloodBankFactory, BloodRequestFactory
from conftest import client_for
from emergency.demo import seed_emergency
from emergency.models import Ambulance
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory
from hms.tests.openapi import assert_response_documented, openapi
from hospitals.demo import seed_hospitals
from hospitals.models import Bed, BedStatus

pytestmark = pytest.mark.django_db

# Seed aliases whose ids come from another list than the path prefix suggests.
ID_SOURCES = {"/hospital/": "/api/v1/hospitals/", "/bloodbank/": "/api/v1/blood-banks/"}
ID_SOURCES["/appointment/opd/"] = "/api/v1/appointments/"


def _ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def every_shape(admin_client):
    hospitals = seed_hospitals()
    seed_appointments(hospitals=hospitals)
    seed_bloodbank(hospitals=hospitals)
    seed_emergency(hospitals=hospitals)
    patient = UserFactory(role="user", blood_group="")
    HospitalFactory(latitude=None, longitude=None, email="", timezone="UTC", is_multi_level=False)
    BloodBankFactory(hospital=None, latitude=None, longitude=None, email="")
    AmbulanceFactory(hospital=hospitals[0], driver=None)
    EmergencyFactory(hospital=None, latitude=None, longitude=None, reporter=None, address="Somewhere 1")

    beds = list(Bed.objects.filter(hospital=hospitals[0], status=BedStatus.AVAILABLE).order_by("id")[:3])
    _ok(admin_client.post(f"/api/v1/beds/{beds[0].pk}/admit/", {"patient_name": "Walk-in"}, format="json"), 201)
    _ok(admin_client.post(f"/api/v1/beds/{beds[1].pk}/admit/", {"patient_id": patient.pk}, format="json"), 201)
    _ok(admin_client.post(f"/api/v1/beds/{beds[1].pk}/discharge/", {}, format="json"))

    slot = Slot.objects.filter(start__gt=timezone.now(), status="open").order_by("start").first()
    booked = _ok(client_for(patient).post("/api/v1/appointments/", {"slot_id": slot.pk}, format="json"), 201)
    cancelled = AppointmentFactory(slot=slot, patient=UserFactory(role="user"))
    _ok(admin_client.post(f"/api/v1/appointments/{cancelled.pk}/cancel/", {}, format="json"))
    doctor = Doctor.objects.get(pk=booked["doctor_id"])
    visit = {"appointment_id": booked["id"], "complaint": "Cough", "diagnosis": "Cold"}
    visit["prescriptions"] = [{"medicine": "Rest", "dosage": "-", "frequency": "daily", "duration_days": 3}]
    _ok(client_for(doctor.user).post("/api/v1/visits/", visit, format="json"), 201)

    bank = BloodBank.objects.filter(hospital=hospitals[0]).first()
    approved = BloodRequestFactory(blood_bank=bank, requester=patient, blood_group="O+", units=1)
    _ok(admin_client.post(f"/api/v1/blood-requests/{approved.pk}/approve/", {}, format="json"))
    BloodRequestFactory(blood_bank=bank, requester=patient, hospital=None, required_by=None)
    donor = User.objects.get(role="donor")
    past = (timezone.localdate() - datetime.timedelta(days=10)).isoformat()
    donation = {"donor_id": donor.pk, "blood_bank_id": bank.pk, "donated_on": past, "units": 1}
    _ok(admin_client.post("/api/v1/donations/", donation, format="json"), 201)

    emergency = EmergencyFactory(hospital=hospitals[0])
    _ok(admin_client.post(f"/api/v1/emergencies/{emergency.pk}/dispatch/", {}, format="json"))
    ambulance = Ambulance.objects.filter(hospital=hospitals[0], driver__isnull=False).first()
    location = {"latitude": 18.5, "longitude": 73.8}
    _ok(admin_client.post(f"/api/v1/ambulances/{ambulance.pk}/location/", location, format="json"))
    return patient


def _ids(client, list_path):
    body = client.get(list_path, {"page_size": 100}).json()
    return [row["id"] for row in body.get("results", [])]


def _check_every_get(client, document):
    checked = 0
    for path, operations in document["paths"].items():
        if "get" not in operations or path.startswith(("/health", "/api/schema")):
            continue
        if "{id}" not in path:
            assert_response_documented(document, path, "get", client.get(path, {"page_size": 100}))
            checked += 1
            continue
        prefix = path.split("{id}")[0]
        for pk in _ids(client, ID_SOURCES.get(prefix, prefix)):
            url = path.replace("{id}", str(pk))
            assert_response_documented(document, path, "get", client.get(url, {"page_size": 100}))
            checked += 1
    return checked


def test_every_get_matches_the_schema_for_admin(admin_client, every_shape):
    assert _check_every_get(admin_client, openapi()) > 200


def test_every_get_matches_the_schema_for_a_patient(every_shape):
    assert _check_every_get(client_for(every_shape), openapi()) > 100


def test_every_get_matches_the_schema_for_anonymous_callers(api, every_shape):
    assert _check_every_get(api, openapi()) > 50


def test_id_sources_cover_every_seed_alias_with_an_id():
    document = openapi()
    for path in document["paths"]:
        prefix = path.split("{id}")[0]
        if "{id}" in path and not prefix.startswith("/api/v1/"):
            assert re.sub(r"[^/]+/$", "", prefix) in ("/hospital/", "/bloodbank/", "/appointment/opd/") or (
                prefix in ID_SOURCES
            ), path
