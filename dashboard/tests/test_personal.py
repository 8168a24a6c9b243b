"""The patient's, donor's, doctor's and hospital admin's dashboards equal a plain computation from the rows."""

import datetime as dt
import json
import random
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.renderers import JSONRenderer

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from bloodbank.models import BloodRequest, Donation
from bloodbank.services import donor_eligibility
from bloodbank.tests.factories import BloodBankFactory, BloodRequestFactory, StockLotFactory
from conftest import client_for
from dashboard import selectors
from emergency.models import AMBULANCE_COMMITTED_STATUSES, Emergency
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory
from hospitals.models import Hospital

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
OPEN = set(Emergency.Status.values) - {Emergency.Status.RESOLVED, Emergency.Status.CANCELLED}


def ordered(content: bytes):
    """The body with every object as its list of (key, value) pairs: equal bodies, equal order."""
    return json.loads(content, object_pairs_hook=list)


def build_world(rng: random.Random) -> dict:
    """Patients (one a donor) with appointments before and after now in every status, blood requests
    and emergencies in every status, and other people's rows beside them."""
    hospitals = [HospitalFactory() for _ in range(2)]
    doctors = [DoctorFactory(hospital=rng.choice(hospitals)) for _ in range(3)]
    # Distinct starts, so "ordered by start" names one order.
    starts = rng.sample(range(-48 * 4, 72 * 4), 60)
    slots = [
        SlotFactory(
            doctor=(doctor := rng.choice(doctors)),
            hospital=doctor.hospital,
            start=NOW + dt.timedelta(minutes=15 * quarter),
            end=NOW + dt.timedelta(minutes=15 * quarter + 15),
            capacity=50,
        )
        for quarter in starts
    ]
    patients = [UserFactory() for _ in range(4)] + [UserFactory(role="donor", blood_group="O+")]
    others = [UserFactory() for _ in range(2)]
    for person in patients + others:
        for slot in rng.sample(slots, rng.randint(0, 40)):
            AppointmentFactory(slot=slot, patient=person, status=rng.choice(Appointment.Status.values))
    banks = [BloodBankFactory(hospital=hospital) for hospital in hospitals]
    for _ in range(15):
        BloodRequestFactory(
            requester=rng.choice(patients + others),
            blood_bank=rng.choice(banks),
            status=rng.choice(BloodRequest.Status.values),
        )
    for index in range(80):
        hospital, status = rng.choice([*hospitals, None]), rng.choice(Emergency.Status.values)
        committed = status in AMBULANCE_COMMITTED_STATUSES
        emergency = EmergencyFactory(
            hospital=hospital,
            reporter=rng.choice([patients[0], patients[0], *patients, *others, None]),
            severity=rng.choice(Emergency.Severity.values),
            status=status,
            ambulance=AmbulanceFactory(hospital=hospital or hospitals[0]) if committed else None,
        )
        # Distinct report times, so "newest first" names one order.
        Emergency.objects.filter(pk=emergency.pk).update(created_at=NOW - dt.timedelta(minutes=7 * index + 1))
    donor = patients[-1]
    for days in rng.sample(range(20, 400), 3):
        lot = StockLotFactory(blood_bank=banks[0], blood_group="O+", units=1)
        Donation.objects.create(
            donor=donor,
            blood_bank=banks[0],
            donated_on=NOW.date() - dt.timedelta(days=days),
            blood_group="O+",
            units=rng.randint(1, 3),
            lot=lot,
            recorded_by=donor,
        )
    return {"patients": patients, "donor": donor}


def appointment_row(appointment) -> dict:
    return {
        "id": appointment.pk,
        "patient_id": appointment.patient_id,
        "patient_name": appointment.patient.fullname,
        "doctor_id": appointment.doctor_id,
        "doctor_name": appointment.doctor.user.fullname,
        "hospital_id": appointment.hospital_id,
        "start": appointment.slot.start,
        "token_number": appointment.token_number,
        "status": appointment.status,
    }


def expected_dashboard(user) -> dict:
    """The figures computed in Python from every row (no query the dashboard uses)."""
    upcoming = sorted(
        (
            appointment
            for appointment in Appointment.objects.select_related("slot", "patient", "doctor__user")
            if appointment.patient_id == user.pk
            and appointment.status in Appointment.ACTIVE
            and appointment.slot.start >= NOW
        ),
        key=lambda appointment: appointment.slot.start,
    )[:10]
    requests = {status: 0 for status in BloodRequest.Status.values}
    for request in BloodRequest.objects.all():
        if request.requester_id == user.pk:
            requests[request.status] += 1
    emergencies = sorted(
        (e for e in Emergency.objects.all() if e.reporter_id == user.pk and e.status in OPEN),
        key=lambda emergency: emergency.created_at,
        reverse=True,
    )[:10]
    figures = {
        "role": user.role,
        "as_of": NOW,
        "upcoming_appointments": [appointment_row(appointment) for appointment in upcoming],
        "blood_requests_by_status": requests,
        "open_emergencies": [
            {
                "id": emergency.pk,
                "status": emergency.status,
                "severity": emergency.severity,
                "hospital_id": emergency.hospital_id,
                "created_at": emergency.created_at,
            }
            for emergency in emergencies
        ],
    }
    if user.role == "donor":
        donations = [donation for donation in Donation.objects.all() if donation.donor_id == user.pk]
        figures["donations"] = {"count": len(donations), "units": sum(donation.units for donation in donations)}
        figures["eligibility"] = donor_eligibility(donor=user)
    return figures


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_patient_and_donor_dashboards_equal_a_plain_computation_on_random_data(seed, django_assert_max_num_queries):
    rng = random.Random(seed)
    with time_machine.travel(NOW, tick=False):
        world = build_world(rng)
        for user in world["patients"]:
            client = client_for(user)
            client.get("/api/v1/dashboard")  # the statement prepared on the connection
            with django_assert_max_num_queries(2 if user.role == "user" else 4):
                response = client.get("/api/v1/dashboard")
            assert response.status_code == 200
            assert ordered(response.content) == ordered(JSONRenderer().render(expected_dashboard(user)))


def test_a_patient_without_any_rows_sees_zeros_and_empty_lists():
    with time_machine.travel(NOW, tick=False):
        patient, donor = UserFactory(), UserFactory(role="donor")
        for user in (patient, donor):
            response = client_for(user).get("/api/v1/dashboard")
            assert ordered(response.content) == ordered(JSONRenderer().render(expected_dashboard(user)))
        assert response.json()["donations"] == {"count": 0, "units": 0}


def expected_doctor_dashboard(user, now) -> dict:
    zone = ZoneInfo(Hospital.objects.get(pk=user.hospital_id).timezone)
    start = dt.datetime.combine(now.astimezone(zone).date(), dt.time.min, tzinfo=zone)
    end = start + dt.timedelta(days=1)
    today = [
        appointment
        for appointment in Appointment.objects.select_related("slot", "patient", "doctor__user")
        if appointment.doctor.user_id == user.pk and start <= appointment.slot.start < end
    ]
    counts = {status: 0 for status in Appointment.Status.values}
    for appointment in today:
        counts[appointment.status] += 1
    queue = sorted(
        (appointment for appointment in today if appointment.status in Appointment.ACTIVE),
        key=lambda appointment: (appointment.slot.start, appointment.token_number),
    )[:50]
    return {
        "role": "doctor",
        "as_of": now,
        "today_by_status": counts,
        "queue": [appointment_row(appointment) for appointment in queue],
    }


# 07:30 on 1 December in Asia/Kolkata, 21:00 on 30 November in America/New_York.
ZONED_NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("seed", [4, 5])
def test_doctor_dashboard_equals_a_plain_computation_and_follows_a_changed_time_zone(
    seed, django_assert_max_num_queries
):
    rng = random.Random(seed)
    with time_machine.travel(ZONED_NOW, tick=False):
        hospital = HospitalFactory(timezone="Asia/Kolkata")
        doctors = [DoctorFactory(hospital=hospital) for _ in range(2)]
        patients = [UserFactory() for _ in range(30)]
        for quarter in rng.sample(range(-40 * 4, 40 * 4), 30):
            start = ZONED_NOW + dt.timedelta(minutes=15 * quarter)
            slot = SlotFactory(
                doctor=rng.choice(doctors), start=start, end=start + dt.timedelta(minutes=15), capacity=50
            )
            for patient in rng.sample(patients, rng.randint(0, 5)):
                AppointmentFactory(slot=slot, patient=patient, status=rng.choice(Appointment.Status.values))
        doctor = doctors[0].user
        client = client_for(doctor)
        client.get("/api/v1/dashboard")  # the statement prepared on the connection
        with django_assert_max_num_queries(2):
            response = client.get("/api/v1/dashboard")
        assert ordered(response.content) == ordered(JSONRenderer().render(expected_doctor_dashboard(doctor, ZONED_NOW)))
        kolkata = response.json()

        Hospital.objects.filter(pk=hospital.pk).update(timezone="America/New_York")
        response = client.get("/api/v1/dashboard")
        assert ordered(response.content) == ordered(JSONRenderer().render(expected_doctor_dashboard(doctor, ZONED_NOW)))
        assert response.json() != kolkata


def test_hospital_admin_dashboard_follows_a_changed_time_zone_and_name():
    with time_machine.travel(ZONED_NOW, tick=False):
        hospital = HospitalFactory(timezone="Asia/Kolkata")
        doctor = DoctorFactory(hospital=hospital)
        for hours, count in ((-10, 2), (4, 3)):  # 30 November in New York, 1 December in Kolkata
            start = ZONED_NOW + dt.timedelta(hours=hours)
            slot = SlotFactory(doctor=doctor, start=start, end=start + dt.timedelta(minutes=15), capacity=50)
            for _ in range(count):
                AppointmentFactory(slot=slot)
        admin = UserFactory(role="hospital_admin", hospital=hospital)
        client = client_for(admin)
        body = client.get("/api/v1/dashboard").json()
        assert body["appointments_today_by_status"]["booked"] == 3
        assert body == {"role": "hospital_admin", "as_of": body["as_of"], **live_dashboard(hospital)}

        renamed = "Renamed Hospital of a name much longer than any counter key, " * 2
        Hospital.objects.filter(pk=hospital.pk).update(timezone="America/New_York", name=renamed)
        hospital.refresh_from_db()
        body = client.get("/api/v1/dashboard").json()
        assert body["hospital_name"] == renamed
        assert body["appointments_today_by_status"]["booked"] == 2
        assert body == {"role": "hospital_admin", "as_of": body["as_of"], **live_dashboard(hospital)}


def live_dashboard(hospital) -> dict:
    return json.loads(JSONRenderer().render(selectors.live_hospital_admin_dashboard(hospital)))


def test_other_databases_compute_the_personal_dashboards_through_the_orm(monkeypatch):
    class SQLite:
        vendor = "sqlite"

    with time_machine.travel(NOW, tick=False):
        world = build_world(random.Random(6))
        doctor = DoctorFactory(hospital=HospitalFactory()).user
        computed = {
            "patient": selectors.patient_dashboard(world["patients"][0]),
            "donor": selectors.donor_dashboard(world["donor"]),
            "doctor": selectors.doctor_dashboard(doctor),
        }
        monkeypatch.setattr(selectors, "connection", SQLite())
        monkeypatch.setattr(selectors, "personal", None)  # never reached
        assert selectors.patient_dashboard(world["patients"][0]) == computed["patient"]
        assert selectors.donor_dashboard(world["donor"]) == computed["donor"]
        assert selectors.doctor_dashboard(doctor) == computed["doctor"]
