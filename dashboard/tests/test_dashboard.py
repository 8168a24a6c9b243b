import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from bloodbank.models import Donation
from bloodbank.tests.factories import BloodBankFactory, BloodRequestFactory, StockLotFactory
from conftest import client_for
from emergency.models import Ambulance, Emergency
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory
from hospitals.models import Bed, BedStatus
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)  # 11:30 in Asia/Kolkata: same calendar day in both zones
TODAY_SLOT = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
TOMORROW_SLOT = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(frozen, hospital, other_hospital, doctor_user, patient):
    """A small known world: one hospital with beds, appointments, blood, emergencies and ambulances."""
    ward = WardFactory(hospital=hospital)
    for status in (BedStatus.AVAILABLE, BedStatus.AVAILABLE, BedStatus.AVAILABLE, BedStatus.CLEANING):
        BedFactory(ward=ward, status=status)
    AdmissionFactory(bed=BedFactory(ward=ward, status=BedStatus.OCCUPIED), patient=UserFactory())
    other_ward = WardFactory(hospital=other_hospital)
    BedFactory(ward=other_ward)
    BedFactory(ward=other_ward)

    doctor = DoctorFactory(user=doctor_user, hospital=hospital)
    today = SlotFactory(doctor=doctor, start=TODAY_SLOT, end=TODAY_SLOT + dt.timedelta(minutes=15))
    tomorrow = SlotFactory(doctor=doctor, start=TOMORROW_SLOT, end=TOMORROW_SLOT + dt.timedelta(minutes=15))
    first = AppointmentFactory(slot=today, patient=patient)
    second = AppointmentFactory(slot=today, status=Appointment.Status.CHECKED_IN)
    AppointmentFactory(slot=today, status=Appointment.Status.CANCELLED)
    upcoming = AppointmentFactory(slot=tomorrow, patient=patient)
    other_doctor = DoctorFactory(hospital=other_hospital)
    other_slot = SlotFactory(doctor=other_doctor, start=TODAY_SLOT, end=TODAY_SLOT + dt.timedelta(minutes=15))
    AppointmentFactory(slot=other_slot)

    bank = BloodBankFactory(hospital=hospital)
    StockLotFactory(blood_bank=bank, blood_group="O+", units=5)
    StockLotFactory(blood_bank=bank, blood_group="A+", units=3)
    StockLotFactory(
        blood_bank=bank,
        blood_group="A+",
        units=10,
        collected_on=NOW.date() - dt.timedelta(days=40),
        expires_on=NOW.date(),  # expires today: no longer usable
    )
    StockLotFactory(blood_bank=BloodBankFactory(hospital=other_hospital), blood_group="B-", units=2)
    BloodRequestFactory(requester=patient, blood_bank=bank)

    EmergencyFactory(hospital=hospital, severity=Emergency.Severity.CRITICAL, reporter=patient)
    EmergencyFactory(hospital=hospital, severity=Emergency.Severity.HIGH)
    EmergencyFactory(hospital=hospital, severity=Emergency.Severity.LOW, status=Emergency.Status.RESOLVED)
    EmergencyFactory(hospital=other_hospital, severity=Emergency.Severity.MEDIUM)
    AmbulanceFactory(hospital=hospital)
    AmbulanceFactory(hospital=hospital, status=Ambulance.Status.OUT_OF_SERVICE)
    AmbulanceFactory(hospital=other_hospital)
    return {"doctor": doctor, "first": first, "second": second, "upcoming": upcoming, "bank": bank}


def test_dashboard_needs_a_token(api):
    assert api.get("/api/v1/dashboard").status_code == 401


def test_admin_dashboard_counts_everything_live(world, admin_client):
    response = admin_client.get("/api/v1/dashboard")
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin"
    assert body["hospitals"] == 2
    assert body["beds_by_status"] == {"available": 5, "occupied": 1, "reserved": 0, "cleaning": 1, "maintenance": 0}
    assert body["appointments_today_by_status"] == {
        "booked": 2,
        "checked_in": 1,
        "completed": 0,
        "cancelled": 1,
        "no_show": 0,
    }
    assert body["usable_blood_units_by_group"]["A+"] == 3
    assert body["usable_blood_units_by_group"]["O+"] == 5
    assert body["usable_blood_units_by_group"]["B-"] == 2
    assert body["open_emergencies_by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 0}
    assert body["ambulances_by_status"]["available"] == 2
    assert body["ambulances_by_status"]["out_of_service"] == 1
    assert body["users_by_role"]["doctor"] == 2


def test_hospital_admin_dashboard_covers_only_its_hospital(world, hospital_admin_client, hospital):
    body = hospital_admin_client.get("/api/v1/dashboard/").json()
    assert body["role"] == "hospital_admin" and body["hospital_id"] == hospital.pk
    assert body["beds_by_status"] == {"available": 3, "occupied": 1, "reserved": 0, "cleaning": 1, "maintenance": 0}
    assert body["appointments_today_by_status"]["booked"] == 1
    assert body["appointments_today_by_status"]["checked_in"] == 1
    assert body["usable_blood_units_by_group"]["B-"] == 0
    assert body["usable_blood_units_by_group"]["A+"] == 3
    assert body["open_emergencies_by_severity"] == {"critical": 1, "high": 1, "medium": 0, "low": 0}
    assert body["ambulances_by_status"] == {"available": 1, "dispatched": 0, "busy": 0, "out_of_service": 1}


def test_doctor_dashboard_shows_todays_queue_in_token_order(world, doctor_client):
    body = doctor_client.get("/api/v1/dashboard").json()
    assert body["role"] == "doctor"
    assert [row["id"] for row in body["queue"]] == [world["first"].pk, world["second"].pk]
    assert body["today_by_status"]["booked"] == 1
    assert body["today_by_status"]["cancelled"] == 1


def test_patient_dashboard_lists_own_upcoming_appointments_requests_and_emergencies(world, patient_client):
    body = patient_client.get("/api/v1/dashboard").json()
    assert body["role"] == "user"
    assert [row["id"] for row in body["upcoming_appointments"]] == [world["first"].pk, world["upcoming"].pk]
    assert body["blood_requests_by_status"]["pending"] == 1
    assert len(body["open_emergencies"]) == 1 and body["open_emergencies"][0]["severity"] == "critical"


def test_donor_dashboard_adds_donations_and_eligibility(world, donor, donor_client):
    lot = StockLotFactory(blood_bank=world["bank"], blood_group="O+", units=1, component="whole_blood")
    Donation.objects.create(
        donor=donor,
        blood_bank=world["bank"],
        donated_on=NOW.date() - dt.timedelta(days=10),
        blood_group="O+",
        component="whole_blood",
        units=1,
        lot=lot,
        recorded_by=donor,
    )
    body = donor_client.get("/api/v1/dashboard").json()
    assert body["role"] == "donor"
    assert body["donations"] == {"count": 1, "units": 1}
    assert body["eligibility"]["eligible"] is False
    assert body["eligibility"]["next_eligible_on"] == str(NOW.date() + dt.timedelta(days=46))


def test_driver_dashboard_shows_current_assignment(world, hospital, driver_user, driver_client):
    ambulance = AmbulanceFactory(hospital=hospital, driver=driver_user, status=Ambulance.Status.DISPATCHED)
    emergency = EmergencyFactory(hospital=hospital, ambulance=ambulance, status=Emergency.Status.DISPATCHED)
    body = driver_client.get("/api/v1/dashboard").json()
    assert body["role"] == "ambulance_driver"
    assert body["current_assignment"]["id"] == emergency.pk
    assert body["ambulances"][0]["id"] == ambulance.pk


def _queries_for(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/dashboard").status_code == 200
    return len(captured)


def test_dashboard_query_count_does_not_grow_with_data(
    world, hospital, admin_user, hospital_admin, doctor_user, patient, donor
):
    clients = {
        role: client_for(user)
        for role, user in [
            ("admin", admin_user),
            ("hospital_admin", hospital_admin),
            ("doctor", doctor_user),
            ("user", patient),
            ("donor", donor),
        ]
    }
    for client in clients.values():  # a process's first dashboard of a hospital learns the hospital's time zone
        _queries_for(client)
    before = {role: _queries_for(client) for role, client in clients.items()}

    ward = WardFactory(hospital=hospital)
    Bed.objects.bulk_create(Bed(ward=ward, hospital=hospital, bed_number=f"X{i}") for i in range(1000))
    slot = SlotFactory(
        doctor=world["doctor"],
        start=TODAY_SLOT + dt.timedelta(hours=1),
        end=TODAY_SLOT + dt.timedelta(hours=1, minutes=15),
        capacity=200,
    )
    for _ in range(100):
        AppointmentFactory(slot=slot)
    for i in range(100):
        StockLotFactory(blood_bank=world["bank"], blood_group="AB+", lot_number=f"BULK-{i}")
    for _ in range(50):
        EmergencyFactory(hospital=hospital, reporter=patient)
    HospitalFactory.create_batch(20)

    after = {role: _queries_for(client) for role, client in clients.items()}
    assert after == before
    assert max(after.values()) <= 12


def test_admin_dashboard_leaves_out_stock_of_a_deactivated_blood_bank(world, admin_client):
    assert admin_client.delete(f"/api/v1/blood-banks/{world['bank'].pk}").status_code == 204
    body = admin_client.get("/api/v1/dashboard").json()
    assert body["usable_blood_units_by_group"]["O+"] == 0
    assert body["usable_blood_units_by_group"]["B-"] == 2


def test_health_answers_head_for_load_balancers(api):
    assert api.head("/health").status_code == 200
