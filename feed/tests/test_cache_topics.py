"""Cached reads are invalidated by the topics their answer depends on: a booking, bed change or stock
change in one hospital or bank leaves the others' figures cached, and its own are fresh at once.

Real transactions: generations are replaced when a write commits. Every check that something stays
cached looks at the SQL the second read runs (none against the table behind it).
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.tests.factories import DoctorFactory, SlotFactory
from bloodbank.tests.factories import BloodBankFactory, StockLotFactory
from conftest import client_for
from hospitals.tests.factories import BedFactory, WardFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.READ_CACHE_SECONDS = 30


def _read(client, path, table):
    """The body, and whether answering it read `table`."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json(), any(table in query["sql"] for query in captured.captured_queries)


def _two_hospitals():
    first, second = HospitalFactory(), HospitalFactory()
    for hospital in (first, second):
        BedFactory(ward=WardFactory(hospital=hospital))
    return first, second


def test_a_booking_in_one_hospital_leaves_anothers_slot_page_cached_and_its_own_fresh(api):
    here, there = DoctorFactory(), DoctorFactory()
    slot = SlotFactory(doctor=here, start=timezone.now() + datetime.timedelta(hours=3), capacity=1)
    SlotFactory(doctor=there, start=timezone.now() + datetime.timedelta(hours=3))
    pages = {d.hospital_id: f"/api/v1/slots?available=true&hospital_id={d.hospital_id}" for d in (here, there)}
    for path in pages.values():
        _read(api, path, "appointments_slot")
        assert not _read(api, path, "appointments_slot")[1]  # kept
    patient = UserFactory(role="user")
    assert client_for(patient).post("/api/v1/appointments", {"slot_id": slot.pk}, format="json").status_code == 201
    body, computed = _read(api, pages[here.hospital_id], "appointments_slot")
    assert computed and body["count"] == 0  # the full slot is gone at once
    assert not _read(api, pages[there.hospital_id], "appointments_slot")[1]  # the other hospital's stays kept


def test_a_bed_change_in_one_hospital_leaves_anothers_availability_cached(api, admin_user):
    here, there = _two_hospitals()
    for hospital in (here, there):
        _read(api, f"/api/v1/hospitals/{hospital.pk}/availability", "hospitals_bed")
        assert not _read(api, f"/api/v1/hospitals/{hospital.pk}/availability", "hospitals_bed")[1]
    bed = here.beds.get()
    response = client_for(admin_user).post(f"/api/v1/beds/{bed.pk}/status", {"status": "maintenance"}, format="json")
    assert response.status_code == 200, response.content
    body, computed = _read(api, f"/api/v1/hospitals/{here.pk}/availability", "hospitals_bed")
    assert computed and body["by_status"]["maintenance"] == 1
    assert not _read(api, f"/api/v1/hospitals/{there.pk}/availability", "hospitals_bed")[1]


def test_a_lot_received_by_one_bank_leaves_anothers_stock_cached(api, admin_user):
    here, there = BloodBankFactory(), BloodBankFactory()
    for bank in (here, there):
        StockLotFactory(blood_bank=bank)
        _read(api, f"/api/v1/blood-banks/{bank.pk}/stock", "bloodbank_stocklot")
        assert not _read(api, f"/api/v1/blood-banks/{bank.pk}/stock", "bloodbank_stocklot")[1]
    response = client_for(admin_user).post(
        f"/api/v1/blood-banks/{here.pk}/stock", {"blood_group": "O-", "units": 4}, format="json"
    )
    assert response.status_code == 201, response.content
    body, computed = _read(api, f"/api/v1/blood-banks/{here.pk}/stock", "bloodbank_stocklot")
    assert computed and any(item["blood_group"] == "O-" and item["units"] >= 4 for item in body["items"])
    assert not _read(api, f"/api/v1/blood-banks/{there.pk}/stock", "bloodbank_stocklot")[1]


def test_a_write_of_unknown_scope_still_invalidates_every_cached_read(api):
    here, _ = _two_hospitals()
    path = f"/api/v1/hospitals/{here.pk}/availability"
    _read(api, path, "hospitals_bed")
    assert not _read(api, path, "hospitals_bed")[1]
    from hms.api.readcache import writes_committed

    writes_committed()  # e.g. seed data or a model that declares no topics
    assert _read(api, path, "hospitals_bed")[1]


def test_a_hospital_deactivated_leaves_the_public_availability_at_once(api, admin_user):
    here, _ = _two_hospitals()
    path = f"/api/v1/hospitals/{here.pk}/availability"
    _read(api, path, "hospitals_bed")
    assert client_for(admin_user).delete(f"/api/v1/hospitals/{here.pk}").status_code == 204
    assert api.get(path).status_code == 404


@pytest.mark.django_db
def test_events_on_a_topic_no_cached_read_follows_replace_no_generation(monkeypatch):
    """A user's own events (bookings, notices: one per recipient in a reminder batch) invalidate no
    cached read; a hospital's beds do, and so does a name no topic registered (to be safe)."""
    from feed import emit as emit_module

    replaced = []
    monkeypatch.setattr(emit_module, "writes_committed", lambda **kwargs: replaced.append(kwargs["topics"]))
    emit_module.emit_many([("user.5", "notification.created", {}), ("hospital.1.beds", "beds.changed", {})])
    emit_module.emit_many([("user.6", "notification.created", {})])
    emit_module.emit_many([("nothing.registered", "x", {})])
    assert replaced == [["hospital.1.beds"], [], ["nothing.registered"]]
