"""Faults: the database going away, and requests dying half-way through a transaction.

- Database unreachable (the connection pointed at a closed port): `/health` stays 200,
  `/health/ready` is 503 naming the failed check, every API call answers 503 in the one error shape
  with `Retry-After`, no traceback and no exception text; when the database is back the same process
  recovers without a restart. (`bin/faults` does the same with a real PostgreSQL stopped under
  gunicorn.)
- A database error in the middle of a write (after the first statement) is a 503 and leaves nothing
  behind.
- A request that dies after its first write (its audit entry's insert raising) is a 500 in the error shape
  and commits nothing: every service runs in one transaction.
"""

import socket
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Activity, User
from accounts.tests.factories import PASSWORD
from appointments.models import Appointment, Prescription, Slot, Visit
from bloodbank.models import Allocation, BloodRequest, Donation, StockLot
from conftest import client_for
from emergency.models import Ambulance, Emergency, EmergencyEvent
from hospitals.models import Admission, Bed, Hospital

LEAKS = ("Traceback", "OperationalError", "psycopg", "connection", "refused", "5432", "127.0.0.1", "port", ".py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database_unreachable():
    """Point the default connection at a port nothing listens on; restore it afterwards."""
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(_free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original


def assert_503_in_the_error_shape(response):
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["type"] == "server_error"
    assert [error["code"] for error in body["errors"]] == ["service_unavailable"]
    assert body["errors"][0]["attr"] is None
    text = response.content.decode()
    for leak in LEAKS:
        assert leak not in text, leak


# --- the database goes away ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_database_unreachable_gives_503_everywhere_and_recovers_without_restart(hospital, patient, admin_user):
    patient_client = client_for(patient)
    admin_client = client_for(admin_user)
    anonymous = APIClient(raise_request_exception=False)
    calls = [
        (anonymous, "get", "/api/v1/hospitals", None),
        (anonymous, "get", f"/api/v1/hospitals/{hospital.pk}/availability", None),
        (anonymous, "post", "/auth/login", {"username": patient.username, "password": PASSWORD}),
        (anonymous, "post", "/auth/register", {"username": "n", "fullname": "N", "email": "n@x.org", "password": "x"}),
        (
            anonymous,
            "post",
            "/api/v1/emergencies",
            {"contact_number": "+1 555 0100", "emergency_type": "other", "address": "x"},
        ),
        (anonymous, "post", "/admin/login/", {"username": "admin", "password": "x"}),
        (patient_client, "get", "/auth/profile", None),
        (patient_client, "get", "/api/v1/appointments", None),
        (patient_client, "post", "/api/v1/appointments", {"slot_id": 1}),
        (patient_client, "get", "/api/v1/dashboard", None),
        (admin_client, "get", "/api/v1/system/status", None),
        (admin_client, "get", "/api/v1/activity", None),
    ]
    assert anonymous.get("/health/ready").status_code == 200

    with database_unreachable():
        health = anonymous.get("/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = anonymous.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "checks": {"database": "unreachable", "migrations": "unknown"}}
        for client, method, path, body in calls:
            client.raise_request_exception = False
            form = "multipart" if path.startswith("/admin/") else "json"
            response = getattr(client, method)(path, body, format=form) if body else getattr(client, method)(path)
            assert_503_in_the_error_shape(response)
        # Unknown URLs need no database and stay a JSON 404.
        assert anonymous.get("/no/such/path").status_code == 404

    # Back: the same process serves again, no restart, no stale connection.
    assert anonymous.get("/health/ready").json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    assert anonymous.get("/api/v1/hospitals").status_code == 200
    assert patient_client.get("/auth/profile").status_code == 200
    assert anonymous.post("/auth/login", {"username": patient.username, "password": PASSWORD}).status_code == 200


@pytest.mark.usefixtures("booking_path")
@pytest.mark.django_db(transaction=True)
def test_an_outage_during_the_request_rolls_back_and_answers_503(monkeypatch, patient):
    """The database fails on the appointment's INSERT (after the slot row was locked and counted, or
    on the one booking statement that holds it): 503, nothing kept."""
    from django.db.backends import utils

    from appointments.tests.factories import DoctorFactory, SlotFactory

    slot = SlotFactory(doctor=DoctorFactory(), capacity=3)
    original = utils.CursorWrapper.execute

    def fail_on_appointment_insert(self, sql, params=None):
        if "INSERT INTO appointments_appointment " in sql.replace('"', ""):
            raise OperationalError("server closed the connection unexpectedly (psycopg, 127.0.0.1:5432)")
        return original(self, sql, params)

    monkeypatch.setattr(utils.CursorWrapper, "execute", fail_on_appointment_insert)
    client = client_for(patient)
    client.raise_request_exception = False
    response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, HTTP_IDEMPOTENCY_KEY="outage-1")
    assert_503_in_the_error_shape(response)
    monkeypatch.undo()
    slot.refresh_from_db()
    assert (slot.booked, slot.last_token) == (0, 0)
    assert not Appointment.objects.exists()
    assert not Activity.objects.filter(object_type="appointment").exists()
    # A 5xx is not kept for the Idempotency-Key: the retry books, once.
    retry = client.post("/api/v1/appointments", {"slot_id": slot.pk}, HTTP_IDEMPOTENCY_KEY="outage-1")
    assert retry.status_code == 201, retry.content
    slot.refresh_from_db()
    assert (slot.booked, Appointment.objects.count()) == (1, 1)


# --- a request dies after its first write --------------------------------------------------------


@pytest.fixture
def dying_record(monkeypatch):
    """Make the audit entry's insert raise on its `nth` call, after the service's first writes (every
    audited write goes through accounts.activity.record, whichever helper calls it)."""

    def install(nth: int = 1):
        original = Activity.objects.create
        calls = {"n": 0}

        def create(**kwargs):
            calls["n"] += 1
            if calls["n"] >= nth:
                raise RuntimeError("worker killed mid-transaction")
            return original(**kwargs)

        monkeypatch.setattr(Activity.objects, "create", create)
        return calls

    return install


def _dies(response):
    assert response.status_code == 500
    body = response.json()
    assert body["type"] == "server_error" and body["errors"][0]["code"] == "error"
    assert "killed" not in response.content.decode() and "Traceback" not in response.content.decode()


def _client(user):
    client = client_for(user)
    client.raise_request_exception = False
    return client


@pytest.mark.django_db
def test_booking_dying_after_its_writes_leaves_no_appointment_and_no_seat_taken(world, dying_record, monkeypatch):
    from appointments.services import bookings

    # The locking path: the Python side of the transaction dies after the seat UPDATE and the INSERT.
    monkeypatch.setattr(bookings, "ONE_STATEMENT_VENDORS", frozenset())
    dying_record()
    _dies(_client(world.other_patient).post("/api/v1/appointments", {"slot_id": world.spare_slot.pk}))
    slot = Slot.objects.get(pk=world.spare_slot.pk)
    assert (slot.booked, slot.last_token) == (0, 0)
    assert not Appointment.objects.filter(slot=slot).exists()


@pytest.mark.usefixtures("booking_path")
@pytest.mark.django_db
def test_booking_failing_at_its_audit_entry_leaves_no_appointment_and_no_seat_taken(world):
    """The database refuses the audit INSERT, the booking's last write: a 503 and nothing of it kept."""
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit storage failed'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON accounts_activity "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
        )
    response = _client(world.other_patient).post("/api/v1/appointments", {"slot_id": world.spare_slot.pk})
    assert_503_in_the_error_shape(response)
    assert "audit storage" not in response.content.decode()
    slot = Slot.objects.get(pk=world.spare_slot.pk)
    assert (slot.booked, slot.last_token) == (0, 0)
    assert not Appointment.objects.filter(slot=slot).exists()


@pytest.mark.django_db
def test_cancel_dying_after_its_writes_keeps_the_booking_and_the_seat(world, dying_record):

    dying_record()
    _dies(_client(world.patient).post(f"/api/v1/appointments/{world.appointment.pk}/cancel"))
    assert Appointment.objects.get(pk=world.appointment.pk).status == "booked"
    assert Slot.objects.get(pk=world.slot.pk).booked == 1


@pytest.mark.django_db
def test_admission_dying_after_its_writes_leaves_the_bed_available(world, dying_record):

    dying_record()
    _dies(
        _client(world.hospital_admin).post(
            f"/api/v1/beds/{world.free_bed.pk}/admit", {"patient_id": world.other_patient.pk}
        )
    )
    assert Bed.objects.get(pk=world.free_bed.pk).status == "available"
    assert not Admission.objects.filter(bed=world.free_bed).exists()


@pytest.mark.django_db
def test_transfer_dying_after_its_writes_keeps_the_patient_in_the_old_bed(world, dying_record):

    dying_record()
    _dies(_client(world.hospital_admin).post(f"/api/v1/beds/{world.bed.pk}/transfer", {"to_bed_id": world.free_bed.pk}))
    assert Admission.objects.get(pk=world.admission.pk).bed_id == world.bed.pk
    assert Bed.objects.get(pk=world.bed.pk).status == "occupied"
    assert Bed.objects.get(pk=world.free_bed.pk).status == "available"


@pytest.mark.django_db
def test_hospital_with_admin_dying_at_the_second_write_creates_neither(admin_user, dying_record):

    calls = dying_record(nth=2)
    body = {
        "name": "Half Hospital",
        "registration_number": "HALF-1",
        "admin": {"username": "halfadmin", "fullname": "Half", "email": "half@x.org", "password": "Str0ng-Pass-99"},
    }
    _dies(_client(admin_user).post("/api/v1/hospitals", body, format="json"))
    assert calls["n"] == 2
    assert not Hospital.objects.filter(registration_number="HALF-1").exists()
    assert not User.objects.filter(username="halfadmin").exists()


@pytest.mark.django_db
def test_blood_approval_dying_after_its_writes_returns_every_unit(world, dying_record):

    dying_record()
    _dies(_client(world.hospital_admin).post(f"/api/v1/blood-requests/{world.blood_request.pk}/approve"))
    assert StockLot.objects.get(pk=world.lot.pk).units == 10
    assert not Allocation.objects.exists()
    assert BloodRequest.objects.get(pk=world.blood_request.pk).status == "pending"


@pytest.mark.django_db
def test_donation_dying_after_its_writes_leaves_no_lot_and_no_donation(world, dying_record):
    from accounts.tests.factories import UserFactory

    dying_record()
    donor = UserFactory(role="donor", blood_group="AB-")
    lots = StockLot.objects.count()
    _dies(
        _client(world.hospital_admin).post("/api/v1/donations", {"donor_id": donor.pk, "blood_bank_id": world.bank.pk})
    )
    assert StockLot.objects.count() == lots and not Donation.objects.filter(donor=donor).exists()


@pytest.mark.django_db
def test_dispatch_dying_after_its_writes_leaves_the_ambulance_free(world, dying_record):

    dying_record()
    events = EmergencyEvent.objects.count()
    _dies(_client(world.hospital_admin).post(f"/api/v1/emergencies/{world.emergency.pk}/dispatch"))
    emergency = Emergency.objects.get(pk=world.emergency.pk)
    assert (emergency.status, emergency.ambulance_id) == ("reported", None)
    assert Ambulance.objects.get(pk=world.ambulance.pk).status == "available"
    assert EmergencyEvent.objects.count() == events


@pytest.mark.django_db
def test_visit_dying_after_its_writes_leaves_no_visit_no_prescription_and_the_appointment_booked(world, dying_record):

    dying_record()
    visits_before, prescriptions_before = Visit.objects.count(), Prescription.objects.count()
    body = {"appointment_id": world.appointment.pk, "complaint": "x", "prescriptions": [{"medicine": "A"}]}
    _dies(_client(world.doctor.user).post("/api/v1/visits", body, format="json"))
    assert (Visit.objects.count(), Prescription.objects.count()) == (visits_before, prescriptions_before)
    assert Appointment.objects.get(pk=world.appointment.pk).status == "booked"


@pytest.mark.django_db
def test_registration_dying_after_its_write_leaves_no_account(api, dying_record):

    dying_record()
    api.raise_request_exception = False
    body = {"username": "ghost", "fullname": "Ghost", "email": "ghost@x.org", "password": "Str0ng-Pass-99"}
    _dies(api.post("/auth/register", body))
    assert not User.objects.filter(username="ghost").exists()


@pytest.mark.django_db
def test_slot_generation_dying_after_its_writes_creates_no_slot(world, dying_record):

    dying_record()
    slots = Slot.objects.count()
    today = timezone.localdate()
    body = {"from_date": str(today + timedelta(days=1)), "to_date": str(today + timedelta(days=7))}
    _dies(_client(world.doctor.user).post(f"/api/v1/opd-schedules/{world.schedule.pk}/generate-slots", body))
    assert Slot.objects.count() == slots
