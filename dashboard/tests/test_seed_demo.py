"""`seed_demo`: idempotent demo world, the logins table, and consistent benchmark data (`--scale`)."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Q

from accounts.models import User
from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Slot
from bloodbank.models import StockLot
from conftest import client_for
from hospitals.models import Admission, Bed, BedStatus, Hospital

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "admin": ("Admin-Pass-2026", "admin"),
    "hospital_admin": ("Hospital-Pass-2026", "hospital_admin"),
    "doctor": ("Doctor-Pass-2026", "doctor"),
    "patient": ("Patient-Pass-2026", "user"),
    "donor": ("Donor-Pass-2026", "donor"),
    "driver": ("Driver-Pass-2026", "ambulance_driver"),
}
# The audit trail is append-only and grows with every booking; everything else is counted.
COUNTED = [
    model
    for model in apps.get_models()
    if model._meta.app_label in {"accounts", "hospitals", "appointments", "bloodbank", "emergency"}
    and model._meta.label != "accounts.Activity"
]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in COUNTED}


def login_rows(output: str) -> dict[str, tuple[str, str]]:
    table = output.split("Demo logins", 1)[1].splitlines()[3:]
    rows = {}
    for line in table:
        if not line.strip():
            break
        username, password, role = re.split(r"\s{2,}", line.strip())
        rows[username] = (password, role)
    return rows


def test_seed_demo_creates_one_account_per_role_and_prints_their_logins(settings):
    settings.ADMIN_USERNAME = "admin"
    output = seed()

    assert login_rows(output) == DEMO_LOGINS
    for username, (password, role) in DEMO_LOGINS.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password(password)
    assert User.objects.get(username="hospital_admin").hospital.registration_number == "DEMO-MH-PUNE-001"
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_signs_in_with_the_printed_logins(api):
    seed()
    for username, (password, role) in DEMO_LOGINS.items():
        response = api.post("/auth/login", {"username": username, "password": password}, format="json")
        assert response.status_code == 200, username
        assert response.json()["user"]["role"] == role


def test_seed_demo_builds_the_demo_world():
    seed()
    assert Hospital.objects.filter(registration_number__startswith="DEMO-").count() == 3
    assert Hospital.objects.filter(is_multi_level=False).exists()
    assert Bed.objects.count() > 0
    assert Slot.objects.bookable().exists()
    assert StockLot.objects.usable().values("blood_group").distinct().count() == 8
    assert apps.get_model("emergency.Ambulance").objects.filter(driver__username="driver").exists()
    # The demo patient has one upcoming booking, so its dashboard shows something.
    assert Appointment.objects.filter(patient__username="patient", status="booked").count() == 1


def test_seed_demo_twice_creates_nothing_new():
    seed()
    before = row_counts()
    output = seed()
    assert row_counts() == before
    assert login_rows(output) == DEMO_LOGINS


def test_seed_demo_never_changes_an_existing_password():
    seed()
    patient = User.objects.get(username="patient")
    patient.set_password("Another-Secret-99")
    patient.save()
    stored = patient.password

    output = seed()

    patient.refresh_from_db()
    assert patient.password == stored
    assert login_rows(output)["patient"] == ("(changed; not shown)", "user")
    assert "Patient-Pass-2026" not in output


def test_seed_demo_leaves_a_taken_username_of_another_role_alone():
    taken = UserFactory(username="patient", role="donor")
    output = seed()
    taken.refresh_from_db()
    assert taken.role == "donor"
    assert "skipped patient: that username belongs to a donor account" in output
    assert not Appointment.objects.filter(patient=taken).exists()


def test_seed_demo_uses_the_bootstrap_admin_when_it_exists(settings):
    settings.ADMIN_USERNAME = "chief"
    settings.ADMIN_PASSWORD = "Chief-Pass-2026"
    UserFactory(username="chief", role="admin", is_staff=True, is_superuser=True)
    output = seed()
    assert not User.objects.filter(username="admin").exists()
    assert login_rows(output)["chief"] == ("(ADMIN_PASSWORD)", "admin")


@pytest.mark.parametrize("scale", ["0", "-1", "11", "nan"])
def test_seed_demo_refuses_a_scale_out_of_range(scale):
    with pytest.raises(CommandError):
        seed("--scale", scale)


def assert_booking_invariants():
    slots = Slot.objects.annotate(
        active=Count("appointments", filter=~Q(appointments__status=Appointment.Status.CANCELLED)),
        highest=Max("appointments__token_number"),
        issued=Count("appointments"),
    )
    assert not slots.filter(booked__gt=F("capacity")).exists()
    assert not slots.exclude(booked=F("active")).exists()
    assert not slots.filter(issued__gt=0).exclude(last_token=F("highest")).exists()
    assert not slots.filter(issued__gt=0).exclude(last_token=F("issued")).exists()
    # One active booking per patient and slot, and appointments carry their slot's doctor and hospital.
    assert not Appointment.objects.exclude(doctor_id=F("slot__doctor_id")).exists()
    assert not Appointment.objects.exclude(hospital_id=F("slot__hospital_id")).exists()
    duplicates = (
        Appointment.objects.filter(status__in=Appointment.ACTIVE)
        .values("patient_id", "slot_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()


def test_seed_demo_scale_writes_consistent_benchmark_data():
    output = seed("--scale", "0.001")

    bench = Hospital.objects.filter(registration_number__startswith="BENCH-")
    assert bench.count() == 1
    hospital = bench.get()
    assert hospital.registration_number == "BENCH-H0001-S100"
    assert Slot.objects.filter(hospital=hospital).count() == 1000
    assert Appointment.objects.filter(hospital=hospital).count() == 100
    assert StockLot.objects.filter(blood_bank__hospital=hospital).count() == 50
    assert Bed.objects.filter(hospital=hospital).count() == 10
    # Bed types as a surge needs them (section 19): ICU and oxygen beds in every benchmark hospital.
    assert {"icu", "oxygen"} <= set(Bed.objects.filter(hospital=hospital).values_list("bed_type", flat=True))
    assert User.objects.filter(username__startswith="bench.p").count() == 10
    assert Slot.objects.filter(hospital=hospital, start__gt=F("end")).count() == 0
    assert_booking_invariants()
    # Every occupied bed holds exactly one active admission, and no other bed does.
    occupied = Bed.objects.filter(hospital=hospital, status=BedStatus.OCCUPIED)
    admissions = Admission.objects.filter(hospital=hospital, discharged_at__isnull=True)
    assert set(admissions.values_list("bed_id", flat=True)) == set(occupied.values_list("pk", flat=True))
    # Booked (future) and completed (past) appointments both exist, and the API's bookable query finds slots.
    assert Appointment.objects.filter(hospital=hospital, status="booked").exists()
    assert Appointment.objects.filter(hospital=hospital, status="completed").exists()
    assert Slot.objects.bookable().filter(hospital=hospital).exists()
    assert "hospitals 1/1" in output


def test_seed_demo_scale_twice_creates_nothing_new():
    seed("--scale", "0.001")
    before = row_counts()
    output = seed("--scale", "0.001")
    assert row_counts() == before
    assert "nothing to add" in output


def test_benchmark_data_serves_the_benchmarked_endpoints(api, admin_client):
    seed("--scale", "0.001")
    hospital = Hospital.objects.get(registration_number__startswith="BENCH-")
    patient = User.objects.filter(username__startswith="bench.p").first()
    client = client_for(patient)
    response = client.get("/api/v1/slots", {"available": "true", "hospital_id": hospital.pk})
    assert response.status_code == 200
    assert response.json()["count"] > 0
    response = client.get("/api/v1/hospitals", {"near": f"{hospital.latitude},{hospital.longitude}"})
    assert hospital.pk in [row["id"] for row in response.json()["results"]]
    assert client.get(f"/api/v1/hospitals/{hospital.pk}/availability").json()["total"] == 10
    bank = hospital.blood_banks.get()
    assert client.get(f"/api/v1/blood-banks/{bank.pk}/stock").status_code == 200
    assert client.get("/api/v1/dashboard").status_code == 200
    assert admin_client.get("/api/v1/dashboard").status_code == 200
    slot = Slot.objects.bookable().filter(hospital=hospital).first()
    response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
    assert response.status_code in (201, 409)
    assert_booking_invariants()
