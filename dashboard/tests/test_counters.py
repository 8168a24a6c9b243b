"""The maintained dashboard counters (PostgreSQL) equal a plain recount after any change, by any path."""

import datetime as dt
import random
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment, Slot
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from bloodbank.models import StockLot
from bloodbank.tests.factories import BloodBankFactory, StockLotFactory
from conftest import client_for, run_together
from dashboard import figures, selectors
from dashboard.management.commands.dashboard_counters import differences
from dashboard.models import CounterBase, CounterDelta
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory
from hospitals.models import Bed, BedStatus, Hospital
from hospitals.tests.factories import BedFactory, WardFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the counters exist on PostgreSQL only")

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 07:30 in Asia/Kolkata
SLOT_TIMES = [
    dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 1, 9, 15, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 1, 19, 0, tzinfo=dt.UTC),  # 00:30 tomorrow in Asia/Kolkata, today in UTC
    dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC),
]
REPORT = {"contact_number": "+91 98765 43210", "emergency_type": "cardiac", "latitude": 18.53, "longitude": 73.86}


def assert_exact() -> None:
    """Every figure of the admin's and of each hospital admin's dashboard equals a plain recount."""
    assert selectors.counted_admin_dashboard() == selectors.live_admin_dashboard()
    for hospital in Hospital.objects.all():
        assert selectors.counted_hospital_admin_dashboard(hospital) == selectors.live_hospital_admin_dashboard(hospital)
    assert differences() == []


def build_world():
    """Two hospitals with beds, slots today and tomorrow, blood, emergencies, ambulances and patients."""
    world = {"hospitals": [], "beds": [], "slots": [], "banks": [], "ambulances": []}
    for _ in range(2):
        hospital = HospitalFactory()
        ward = WardFactory(hospital=hospital)
        world["hospitals"].append(hospital)
        world["beds"] += [BedFactory(ward=ward) for _ in range(4)]
        doctor = DoctorFactory(hospital=hospital)
        world["slots"] += [
            SlotFactory(doctor=doctor, start=start, end=start + dt.timedelta(minutes=15), capacity=3)
            for start in SLOT_TIMES
        ]
        bank = BloodBankFactory(hospital=hospital)
        world["banks"].append(bank)
        StockLotFactory(blood_bank=bank, blood_group="O+", units=4)
        world["ambulances"] += [AmbulanceFactory(hospital=hospital) for _ in range(2)]
        EmergencyFactory(hospital=hospital)
    world["patients"] = [UserFactory() for _ in range(6)]
    world["staff"] = [UserFactory(role="doctor", hospital=hospital) for hospital in world["hospitals"]]
    return world


def random_step(rng, world, admin, api) -> int:
    """One random write through the API; returns its status code (refusals are part of the mix)."""
    pick = rng.choice
    step = pick(
        [
            "book",
            "book",
            "book",
            "cancel",
            "check_in",
            "admit",
            "discharge",
            "bed_status",
            "stock",
            "report",
            "emergency_status",
            "ambulance_status",
            "deactivate_user",
        ]
    )
    appointments = list(Appointment.objects.filter(status=Appointment.Status.BOOKED).values_list("pk", flat=True))
    if step == "book":
        patient = pick(world["patients"])
        return client_for(patient).post("/api/v1/appointments", {"slot_id": pick(world["slots"]).pk}).status_code
    if step in ("cancel", "check_in") and appointments:
        action = "cancel" if step == "cancel" else "check-in"
        return admin.post(f"/api/v1/appointments/{pick(appointments)}/{action}").status_code
    if step == "admit":
        body = {"patient_id": pick(world["patients"]).pk, "reason": "Observation"}
        return admin.post(f"/api/v1/beds/{pick(world['beds']).pk}/admit", body).status_code
    if step == "discharge":
        return admin.post(f"/api/v1/beds/{pick(world['beds']).pk}/discharge").status_code
    if step == "bed_status":
        body = {"status": pick(["available", "cleaning", "maintenance"])}
        return admin.post(f"/api/v1/beds/{pick(world['beds']).pk}/status", body).status_code
    if step == "stock":
        body = {"blood_group": pick(["O+", "A-", "B+"]), "units": rng.randint(1, 5)}
        return admin.post(f"/api/v1/blood-banks/{pick(world['banks']).pk}/stock", body).status_code
    if step == "report":
        body = {**REPORT, "severity": pick(["low", "critical"]), "hospital_id": pick(world["hospitals"]).pk}
        return api.post("/api/v1/emergencies", body).status_code
    if step == "emergency_status":
        emergency = pick(list(EmergencyFactory._meta.model.objects.values_list("pk", flat=True)))
        return admin.post(f"/api/v1/emergencies/{emergency}/status", {"status": "cancelled"}).status_code
    if step == "ambulance_status":
        body = {"status": pick(["out_of_service", "available"])}
        return admin.post(f"/api/v1/ambulances/{pick(world['ambulances']).pk}/status", body).status_code
    if step == "deactivate_user":
        return admin.delete(f"/api/v1/users/{pick(world['staff']).pk}").status_code
    return 0


@pytest.mark.django_db
def test_every_figure_equals_a_recount_after_a_random_sequence_of_api_writes(admin_user, api):
    rng = random.Random(21)
    with time_machine.travel(NOW, tick=False):
        world = build_world()
        assert_exact()
        admin = client_for(admin_user)
        codes = [random_step(rng, world, admin, api) for _ in range(60)]
        assert all(code < 500 for code in codes) and codes.count(201) >= 10
        assert_exact()
        # Deactivating a blood bank and a hospital takes their stock and beds off the network's figures.
        assert admin.delete(f"/api/v1/blood-banks/{world['banks'][0].pk}").status_code == 204
        Hospital.objects.filter(pk=world["hospitals"][1].pk).update(is_active=False)
        assert_exact()
        figures.fold()
        assert not CounterDelta.objects.exists()
        assert_exact()
    # Tomorrow (in UTC and in Asia/Kolkata): other appointments are today's; a lot expires.
    for later in (dt.timedelta(days=1), dt.timedelta(days=400)):
        with time_machine.travel(NOW + later, tick=False):
            assert_exact()
            figures.fold()
            assert_exact()


@pytest.mark.django_db
def test_bulk_updates_deletes_and_a_moved_slot_are_counted(admin_user):
    with time_machine.travel(NOW, tick=False):
        world = build_world()
        for slot in world["slots"][:3]:
            AppointmentFactory(slot=slot)
        Bed.objects.filter(pk__in=[bed.pk for bed in world["beds"][:3]]).update(status=BedStatus.MAINTENANCE)
        StockLot.objects.update(units=1, blood_group="AB-")
        Appointment.objects.filter(slot=world["slots"][0]).update(status=Appointment.Status.NO_SHOW)
        moved = SLOT_TIMES[3] + dt.timedelta(hours=1)
        Slot.objects.filter(pk=world["slots"][1].pk).update(start=moved, end=moved + dt.timedelta(minutes=15))
        assert_exact()
        Appointment.objects.filter(slot=world["slots"][2]).delete()
        world["patients"][0].__class__.objects.filter(pk=world["staff"][0].pk).update(role="hospital_admin")
        assert_exact()


@pytest.mark.django_db
def test_a_lapsed_reservation_is_shown_available_without_any_write():
    with time_machine.travel(NOW, tick=False):
        world = build_world()
        bed = world["beds"][0]
        Bed.objects.filter(pk=bed.pk).update(
            status=BedStatus.RESERVED, reserved_for=world["patients"][0], reserved_until=NOW + dt.timedelta(hours=1)
        )
        assert selectors.counted_admin_dashboard()["beds_by_status"][BedStatus.RESERVED] == 1
        assert_exact()
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert selectors.counted_admin_dashboard()["beds_by_status"][BedStatus.RESERVED] == 0
        assert_exact()


@pytest.mark.django_db
def test_fold_keeps_every_figure_and_drops_buckets_no_one_reads_again():
    with time_machine.travel(NOW, tick=False):
        world = build_world()
        AppointmentFactory(slot=world["slots"][0])
        CounterBase.objects.create(metric="appointments", scope=0, bucket=0, key="booked", n=5)
        assert figures.fold()["folded"] > 0
        assert not CounterDelta.objects.exists() and not CounterBase.objects.filter(bucket=0, n=5).exists()
        assert_exact()


@pytest.mark.django_db
def test_the_counter_rows_are_read_from_their_index_alone():
    """counter_base_key carries `n` (migration 0003): a counter row's figure is in the index, and the fold's
    ON CONFLICT still finds the key (folding onto an existing row adds up)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'counter_base_key'")
        assert cursor.fetchone()[0].endswith("(metric, scope, bucket, key) INCLUDE (n)")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT key, n FROM dashboard_counterbase WHERE metric = 'beds' AND scope = 0")
        assert "Index Only Scan using counter_base_key" in " ".join(row[0] for row in cursor.fetchall())
    with time_machine.travel(NOW, tick=False):
        build_world()
        figures.fold()
        CounterDelta.objects.create(metric="users", scope=0, bucket=0, key="user", n=2)
        before = CounterBase.objects.get(metric="users", scope=0, bucket=0, key="user").n
        figures.fold()
        assert CounterBase.objects.get(metric="users", scope=0, bucket=0, key="user").n == before + 2


@pytest.mark.django_db
def test_each_dashboard_statement_is_planned_once_per_connection(admin_user, hospital_admin, hospital):
    """The figures' prepared statements keep PostgreSQL's one plan (a plan made for each read cost more
    than the read itself): after a few reads, no read plans again. Left to choose (plan_cache_mode auto),
    PostgreSQL planned this statement again on every read at this many beds."""
    # As many beds as a network has (the plan choice depends on it).
    ward = WardFactory(hospital=hospital)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO hospitals_bed (bed_number, status, created_at, updated_at, hospital_id, ward_id, bed_type,"
            " reservation_reason) SELECT 'n' || i, %s, now(), now(), %s, %s, 'general', ''"
            " FROM generate_series(1, 10000) AS i",
            [BedStatus.AVAILABLE, hospital.pk, ward.pk],
        )
        cursor.execute("ANALYZE hospitals_bed")
    reads = [selectors.counted_admin_dashboard, lambda: selectors.hospital_admin_dashboard(hospital_admin)]
    for read in reads:
        for _ in range(12):
            read()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%SUM(deltas)%"],
        )
        plans = cursor.fetchall()
    assert len(plans) == 2
    assert all(generic >= 6 and custom <= 6 for generic, custom in plans), plans


@pytest.mark.django_db
def test_a_read_folds_the_deltas_once_there_are_many(settings):
    with time_machine.travel(NOW, tick=False):
        build_world()
        settings.DASHBOARD_FOLD_AFTER = 5
        assert CounterDelta.objects.exists()
        selectors.counted_admin_dashboard()
        assert not CounterDelta.objects.exists()
        assert_exact()


@pytest.mark.django_db
def test_the_command_finds_a_drifted_counter_and_rebuild_repairs_it(capsys):
    with time_machine.travel(NOW, tick=False):
        build_world()
        call_command("dashboard_counters")
        CounterDelta.objects.create(metric="beds", scope=0, bucket=0, key="available", n=3)
        with pytest.raises(CommandError, match="differ from a recount"):
            call_command("dashboard_counters")
        call_command("dashboard_counters", "--rebuild")
        call_command("dashboard_counters", "--install")
        call_command("dashboard_counters", "--fold")
        call_command("dashboard_counters")
        assert "counters match a recount" in capsys.readouterr().out


@pytest.mark.django_db
def test_each_dashboard_reads_its_figures_in_one_query(admin_user, hospital_admin, hospital):
    with time_machine.travel(NOW, tick=False):
        build_world()
        with CaptureQueriesContext(connection) as admin_queries:
            selectors.admin_dashboard()
        with CaptureQueriesContext(connection) as hospital_queries:
            selectors.hospital_admin_dashboard(hospital_admin)
    assert len(admin_queries) == 1 and len(hospital_queries) == 1


@pytest.mark.django_db
def test_other_databases_count_from_the_tables(monkeypatch, hospital_admin):
    class SQLite:
        vendor = "sqlite"

    monkeypatch.setattr(selectors, "connection", SQLite())
    monkeypatch.setattr(figures, "admin_figures", None)  # never reached
    monkeypatch.setattr(figures, "hospital_admin_figures", None)
    assert selectors.admin_dashboard() == selectors.live_admin_dashboard()
    assert selectors.hospital_admin_dashboard(hospital_admin) == selectors.live_hospital_admin_dashboard(
        hospital_admin.hospital
    )


def test_a_window_off_the_quarter_hour_is_counted_live():
    start = dt.datetime(2026, 12, 1, 0, 7, tzinfo=dt.UTC)
    assert figures._appointments_part(0, start, start + dt.timedelta(days=1)) is None
    aligned = dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.UTC)
    assert figures._appointments_part(0, aligned, aligned + dt.timedelta(days=1)) is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_and_cancellations_leave_exact_counters():
    hospital = HospitalFactory()
    doctor = DoctorFactory(hospital=hospital)
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    slots = [
        SlotFactory(
            doctor=doctor,
            start=start + dt.timedelta(minutes=15 * i),
            end=start + dt.timedelta(minutes=15 * (i + 1)),
            capacity=4,
        )
        for i in range(3)
    ]
    patients = [UserFactory() for _ in range(12)]
    cancelled = [AppointmentFactory(slot=slots[0]) for _ in range(2)]
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)

    def book(patient, slot):
        return lambda: client_for(patient).post("/api/v1/appointments", {"slot_id": slot.pk}).status_code

    def cancel(appointment):
        return lambda: client_for(admin).post(f"/api/v1/appointments/{appointment.pk}/cancel").status_code

    calls = [book(patient, slots[index % 3]) for index, patient in enumerate(patients)]
    calls += [cancel(appointment) for appointment in cancelled] + [figures.fold]
    results = run_together(calls)
    assert results[:12].count(201) == 12 - results[:12].count(409) and results[12:14] == [200, 200]
    booked = Appointment.objects.filter(status=Appointment.Status.BOOKED).count()
    assert (
        booked
        == results[:12].count(201)
        == sum(Slot.objects.filter(pk__in=[s.pk for s in slots]).values_list("booked", flat=True))
    )
    assert_exact()
    counted = selectors.counted_hospital_admin_dashboard(hospital)["appointments_today_by_status"]
    live = selectors.live_hospital_admin_dashboard(hospital)["appointments_today_by_status"]
    assert counted == live


@pytest.mark.django_db
def test_seed_demo_at_scale_leaves_folded_exact_counters():
    call_command("seed_demo", "--scale", "0.001", stdout=StringIO())
    assert not CounterDelta.objects.exists() and CounterBase.objects.exists()
    assert_exact()


@pytest.mark.django_db
def test_a_management_command_is_counted_and_expired_lots_leave_no_rows_behind():
    with time_machine.travel(NOW, tick=False):
        world = build_world()
        StockLotFactory(blood_bank=world["banks"][0], blood_group="A+", units=2)
    with time_machine.travel(NOW + dt.timedelta(days=60), tick=False):
        assert selectors.counted_admin_dashboard()["usable_blood_units_by_group"]["O+"] == 0
        call_command("expire_blood_stock", stdout=StringIO())
        assert not StockLot.objects.filter(status=StockLot.Status.AVAILABLE).exists()
        assert_exact()
        figures.fold()
        assert not CounterBase.objects.filter(metric="blood").exists()
        assert_exact()
