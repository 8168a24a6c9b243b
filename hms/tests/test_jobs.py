"""The scheduled jobs (API.md section 16) run by hand through `manage.py run_job`, as cron or a worker
would run them: each job's effect, its idempotence, the recorded run, beat's schedules, and
`GET /api/v1/system/status` per role. The real worker and broker are in test_jobs_worker.py."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Activity, RevokedAccessToken
from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Hold, Slot
from appointments.tests.factories import AppointmentFactory, HoldFactory, OpdScheduleFactory, SlotFactory
from bloodbank.models import StockLot
from bloodbank.tests.factories import StockLotFactory
from feed.models import PendingEvent
from hms import jobs
from hms.jobs import engine
from hms.jobs.schedules import sync_periodic_tasks
from hms.models import JobRun

pytestmark = pytest.mark.django_db

DOMAIN_JOBS = [
    "accounts.flush_expired_tokens",
    "appointments.expire_holds",
    "appointments.fold_slot_counts",
    "appointments.no_show",
    "appointments.rolling_slots",
    "bloodbank.stock_expiry",
    "feed.prune",
]


def run_job(name: str) -> str:
    out = StringIO()
    call_command("run_job", name, stdout=out)
    return out.getvalue()


def _slot_ended(minutes_ago: int) -> Slot:
    end = timezone.now() - timedelta(minutes=minutes_ago)
    return SlotFactory(start=end - timedelta(minutes=15), end=end)


def _no_show_entries(appointment) -> int:
    return Activity.objects.filter(
        object_type="appointment", object_id=appointment.pk, detail__action=Appointment.Status.NO_SHOW
    ).count()


def test_run_job_list_names_every_domain_job():
    out = StringIO()
    call_command("run_job", "--list", stdout=out)
    for name in DOMAIN_JOBS:
        assert name in out.getvalue()


def test_run_job_unknown_name_fails():
    with pytest.raises(CommandError, match="No job"):
        call_command("run_job", "nope.nothing", stdout=StringIO())
    assert not JobRun.objects.exists()


def test_run_job_records_a_failed_run_and_exits_nonzero(monkeypatch):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(jobs._JOBS, "test.broken", jobs.Job("test.broken", broken, 60, "fails"))
    with pytest.raises(CommandError, match="disk on fire"):
        run_job("test.broken")
    run = JobRun.objects.get(name="test.broken")
    assert run.ok is False and "RuntimeError: disk on fire" in run.error and run.finished_at is not None


# --- automatic no-show ---------------------------------------------------------------------------


def test_no_show_marks_booked_appointments_only_after_the_grace(settings):
    settings.NO_SHOW_GRACE_MINUTES = 60
    overdue = AppointmentFactory(slot=_slot_ended(61))
    in_grace = AppointmentFactory(slot=_slot_ended(30))
    cancelled = AppointmentFactory(slot=_slot_ended(120), status=Appointment.Status.CANCELLED)
    checked_in = AppointmentFactory(slot=_slot_ended(120), status=Appointment.Status.CHECKED_IN)
    future = AppointmentFactory()

    assert "'marked': 1" in run_job("appointments.no_show")

    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses[overdue.pk] == Appointment.Status.NO_SHOW
    assert statuses[in_grace.pk] == Appointment.Status.BOOKED
    assert statuses[cancelled.pk] == Appointment.Status.CANCELLED
    assert statuses[checked_in.pk] == Appointment.Status.CHECKED_IN
    assert statuses[future.pk] == Appointment.Status.BOOKED
    # Audited and announced as a doctor's no-show is (no actor: the job).
    entry = Activity.objects.get(object_type="appointment", object_id=overdue.pk)
    assert entry.detail == {"action": "no_show"} and entry.actor_id is None
    assert PendingEvent.objects.filter(topic=f"user.{overdue.patient_id}", type="appointment.no_show").count() == 1


def test_no_show_is_idempotent(settings):
    settings.NO_SHOW_GRACE_MINUTES = 60
    overdue = AppointmentFactory(slot=_slot_ended(90))
    run_job("appointments.no_show")
    assert "'marked': 0" in run_job("appointments.no_show")
    assert _no_show_entries(overdue) == 1
    assert list(JobRun.objects.filter(name="appointments.no_show").values_list("ok", flat=True)) == [True, True]


def test_no_show_grace_setting_is_respected(settings):
    settings.NO_SHOW_GRACE_MINUTES = 10
    appointment = AppointmentFactory(slot=_slot_ended(30))
    run_job("appointments.no_show")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW


# --- rolling slot generation ---------------------------------------------------------------------


def test_rolling_slots_generate_ahead_and_are_idempotent(settings):
    settings.OPD_ROLLING_DAYS = 5
    schedule = OpdScheduleFactory(start_time="09:00", end_time="11:00", slot_minutes=60)
    OpdScheduleFactory(is_active=False)
    run_job("appointments.rolling_slots")
    created = Slot.objects.filter(opd_schedule=schedule).count()
    assert 4 * 2 <= created <= 5 * 2  # today's may have passed already
    assert not Slot.objects.exclude(opd_schedule=schedule).exists()
    audit = Activity.objects.filter(detail__action="generate_slots").count()

    assert "'created': 0" in run_job("appointments.rolling_slots")
    assert Slot.objects.filter(opd_schedule=schedule).count() == created
    # A run that changed nothing leaves no audit entry (it runs every hour).
    assert Activity.objects.filter(detail__action="generate_slots").count() == audit


def test_rolling_slots_extend_as_days_pass(settings, time_machine):
    settings.OPD_ROLLING_DAYS = 3
    schedule = OpdScheduleFactory(start_time="09:00", end_time="10:00", slot_minutes=60)
    run_job("appointments.rolling_slots")
    before = Slot.objects.filter(opd_schedule=schedule).count()
    time_machine.move_to(timezone.now() + timedelta(days=1))
    run_job("appointments.rolling_slots")
    assert Slot.objects.filter(opd_schedule=schedule).count() == before + 1


# --- expired holds -------------------------------------------------------------------------------


def test_expire_holds_tidies_lapsed_holds_and_gives_seats_back():
    slot = SlotFactory(capacity=3)
    lapsed = HoldFactory(slot=slot)
    Hold.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    live = HoldFactory(slot=slot)
    slot.refresh_from_db()
    assert slot.hold_count == 2

    assert "'expired': 1" in run_job("appointments.expire_holds")

    lapsed.refresh_from_db()
    live.refresh_from_db()
    slot.refresh_from_db()
    assert (lapsed.status, live.status, slot.hold_count) == (Hold.Status.EXPIRED, Hold.Status.ACTIVE, 1)
    assert PendingEvent.objects.filter(topic=f"user.{lapsed.patient_id}", type="hold.expired").count() == 1
    assert PendingEvent.objects.filter(type="slot.changed", data__slot_id=slot.pk).exists()

    assert "'expired': 0" in run_job("appointments.expire_holds")
    slot.refresh_from_db()
    assert slot.hold_count == 1


# --- blood stock, feed, tokens -------------------------------------------------------------------


def test_stock_expiry_marks_expired_lots_once():
    expired = StockLotFactory(expires_on=timezone.localdate() - timedelta(days=1))
    usable = StockLotFactory()
    assert "'expired': 1" in run_job("bloodbank.stock_expiry")
    assert "'expired': 0" in run_job("bloodbank.stock_expiry")
    statuses = dict(StockLot.objects.values_list("pk", "status"))
    assert statuses[expired.pk] == StockLot.Status.EXPIRED
    assert statuses[usable.pk] == StockLot.Status.AVAILABLE


def test_feed_prune_runs_the_retention(settings):
    settings.EVENTS_RETENTION_HOURS = 72
    assert "'deleted': 0" in run_job("feed.prune")


def test_flush_expired_tokens_keeps_live_ones():
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    user = UserFactory()
    now = timezone.now()
    old = OutstandingToken.objects.create(user=user, jti="old", token="t1", expires_at=now - timedelta(hours=1))
    BlacklistedToken.objects.create(token=old)
    live = OutstandingToken.objects.create(user=user, jti="live", token="t2", expires_at=now + timedelta(days=1))
    RevokedAccessToken.objects.create(jti="gone", expires_at=now - timedelta(minutes=1))
    RevokedAccessToken.objects.create(jti="kept", expires_at=now + timedelta(minutes=30))

    run_job("accounts.flush_expired_tokens")

    assert list(OutstandingToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert not BlacklistedToken.objects.exists()
    assert list(RevokedAccessToken.objects.values_list("jti", flat=True)) == ["kept"]


# --- the engine: advisory lock, beat's schedules -------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_run_of_a_job_in_progress_elsewhere_is_skipped():
    import zlib

    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    key = zlib.crc32(b"feed.prune") - 2**31
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], password=db.get("PASSWORD") or None
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [engine.LOCK_NAMESPACE, key])
        run = engine.run("feed.prune", trigger="command")
    assert run.ok and "skipped" in run.result
    assert "deleted" in engine.run("feed.prune", trigger="command").result


def test_migrate_creates_one_periodic_task_per_job_with_its_default_interval():
    sync_periodic_tasks()
    for job in jobs.jobs():
        task = PeriodicTask.objects.get(name=job.name)
        assert task.task == "hms.run_job" and json.loads(task.args) == [job.name] and task.enabled
        assert task.interval.every == job.every_seconds and task.interval.period == IntervalSchedule.SECONDS


def test_sync_keeps_an_interval_an_admin_changed_and_disables_unknown_jobs():
    sync_periodic_tasks()
    hourly = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.filter(name="appointments.no_show").update(interval=hourly)
    PeriodicTask.objects.create(name="gone.job", task="hms.run_job", args='["gone.job"]', interval=hourly)
    PeriodicTask.objects.filter(name="feed.prune").delete()

    sync_periodic_tasks()

    assert PeriodicTask.objects.get(name="appointments.no_show").interval_id == hourly.pk
    assert PeriodicTask.objects.get(name="gone.job").enabled is False
    assert PeriodicTask.objects.get(name="feed.prune").interval.every == jobs.get("feed.prune").every_seconds


# --- GET /api/v1/system/status -------------------------------------------------------------------


def test_system_status_lists_each_job_schedule_last_run_and_queue(admin_client, settings):
    sync_periodic_tasks()
    hourly = IntervalSchedule.objects.create(every=7200, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="appointments.no_show").update(interval=hourly)
    run_job("bloodbank.stock_expiry")

    response = admin_client.get("/api/v1/system/status")

    assert response.status_code == 200
    body = response.json()
    by_name = {job["name"]: job for job in body["jobs"]}
    assert set(DOMAIN_JOBS) <= set(by_name)
    assert by_name["appointments.no_show"]["schedule"]["every_seconds"] == 7200
    assert by_name["appointments.no_show"]["schedule"]["source"] == "beat"
    assert by_name["appointments.no_show"]["last_run"] is None
    last = by_name["bloodbank.stock_expiry"]["last_run"]
    assert last["ok"] is True and last["result"] == {"expired": 0} and last["trigger"] == "command"
    assert last["duration_seconds"] >= 0 and last["error"] == "" and last["at"]
    assert body["queue"]["name"] == "celery" and body["queue"]["broker"] == engine.broker_kind()
    if engine.broker_kind() == "filesystem":
        assert isinstance(body["queue"]["depth"], int)


def test_system_status_without_periodic_tasks_shows_default_schedules(admin_client):
    PeriodicTask.objects.all().delete()
    body = admin_client.get("/api/v1/system/status").json()
    job = next(job for job in body["jobs"] if job["name"] == "appointments.expire_holds")
    assert job["schedule"] == {
        "source": "default",
        "every_seconds": 60,
        "crontab": None,
        "enabled": True,
        "last_sent_at": None,
    }


def test_system_status_queue_depth_is_null_when_redis_is_down(admin_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    queue = admin_client.get("/api/v1/system/status").json()["queue"]
    assert queue == {"name": "celery", "broker": "redis", "depth": None}


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client", "patient_client"])
def test_system_status_is_refused_to_other_roles(request, client_name):
    response = request.getfixturevalue(client_name).get("/api/v1/system/status")
    assert response.status_code == 403


def test_system_status_needs_a_token(api):
    assert api.get("/api/v1/system/status").status_code == 401


def test_admin_shows_job_runs_and_periodic_tasks(admin_site):
    sync_periodic_tasks()
    run_job("feed.prune")
    assert admin_site.get("/admin/hms/jobrun/").status_code == 200
    run = JobRun.objects.get(name="feed.prune")
    assert admin_site.get(f"/admin/hms/jobrun/{run.pk}/change/").status_code == 200
    response = admin_site.get("/admin/django_celery_beat/periodictask/")
    assert response.status_code == 200 and b"appointments.no_show" in response.content


def test_system_status_shows_a_crontab_an_admin_set(admin_client):
    from django_celery_beat.models import CrontabSchedule

    sync_periodic_tasks()
    nightly = CrontabSchedule.objects.create(minute="30", hour="2")
    PeriodicTask.objects.filter(name="feed.prune").update(interval=None, crontab=nightly, enabled=False)
    body = admin_client.get("/api/v1/system/status").json()
    schedule = next(job for job in body["jobs"] if job["name"] == "feed.prune")["schedule"]
    assert schedule["source"] == "beat" and schedule["every_seconds"] is None and schedule["enabled"] is False
    assert schedule["crontab"].startswith("30 2 * * *")
