"""The job engine with a real broker and real processes (API.md section 16): a Redis server on a free
port, `celery worker` and `celery beat` subprocesses on the test database.

- A worker killed with SIGKILL in the middle of a batch (300 overdue appointments; each goes through the
  no-show service in its own transaction, ~40 ms apiece on a loaded 2-core machine): the message,
  acknowledged late, is delivered again to a second worker, and every appointment is marked no-show
  and audited exactly once.
- A worker killed with SIGKILL while it sends a batch of reminders (2,000 due, e-mailed through the
  file backend): a second worker finishes the batch, and every reminder is created once and its
  e-mail written once (at most the one message in flight at the kill twice, with the same Message-ID).
- Two beat processes sending the same job every second to two workers: its effects are not doubled.
- A worker killed with SIGKILL while a webhook endpoint (local HTTPS, webhooks/tests/endpoint.py) holds
  its request: a second worker sends the rest, and the one in flight once its lease lapses; every
  delivery is received and recorded delivered once (only the one in flight received twice, same
  `webhook-id`).

Redis: the `redis-server` binary (installed with apt when missing and we are root, else skipped).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from accounts.models import Activity, User
from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Slot
from appointments.tests.factories import DoctorFactory
from hms.jobs.schedules import sync_periodic_tasks
from hms.models import JobRun
from notifications.models import Delivery, Notification

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="workers share the test database: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Celery processes on the test database, each in its own process group (killed with it)."""

    def __init__(self, redis_url: str):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hms.settings",
            "HMS_TESTING": "1",
            "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": redis_url,
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "CELERY_RESTORE_INTERVAL": "1",
        }
        self.running: list[subprocess.Popen] = []
        self.folder = Path(tempfile.mkdtemp(prefix="hms-celery-"))

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{len(self.running)}-{args[0]}.log", "wb")  # noqa: SIM115 - kept open while it runs
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hms", *args],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen:
        return self.start(
            "worker", "-n", f"{name}@%h", "-c", "1", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-l", "info",
        )  # fmt: skip

    def beat(self, name: str) -> subprocess.Popen:
        return self.start(
            "beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--max-interval", "1",
            "--pidfile", str(self.folder / f"{name}.pid"), "-l", "info",
        )  # fmt: skip

    @staticmethod
    def kill(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(timeout=20)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in self.folder.iterdir()
        )


@pytest.fixture
def celery_processes(redis_url):
    processes = Processes(redis_url)
    yield processes
    processes.stop_all()
    shutil.rmtree(processes.folder, ignore_errors=True)


def _send(redis_url: str, name: str) -> None:
    sender = Celery("hms-test", broker=redis_url)
    sender.send_task("hms.run_job", args=[name])
    sender.close()


def _overdue_appointments(count: int, *, per_slot: int = 50) -> list[int]:
    """`count` booked appointments whose slots ended two hours ago, inserted in bulk."""
    doctor = DoctorFactory()
    patients = [UserFactory() for _ in range(per_slot)]
    end = timezone.now() - timedelta(hours=2)
    slots = Slot.objects.bulk_create(
        [
            Slot(
                hospital=doctor.hospital,
                doctor=doctor,
                start=end - timedelta(minutes=15 + index),
                end=end - timedelta(minutes=index),
                local_date=end.date(),
                capacity=per_slot,
                booked=per_slot,
                last_token=per_slot,
            )  # fmt: skip
            for index in range(count // per_slot)
        ]
    )
    Appointment.objects.bulk_create(
        [
            Appointment(patient=patient, slot=slot, doctor=doctor, hospital=doctor.hospital, token_number=token + 1)
            for slot in slots
            for token, patient in enumerate(patients)
        ]
    )
    return list(Appointment.objects.filter(slot__in=slots).values_list("pk", flat=True))


def _no_show_audit_counts(ids: list[int]) -> dict[int, int]:
    counts = dict.fromkeys(ids, 0)
    entries = Activity.objects.filter(object_type="appointment", object_id__in=ids, detail__action="no_show")
    for object_id in entries.values_list("object_id", flat=True):
        counts[int(object_id)] += 1
    return counts


def _wait_for(predicate, *, timeout: float, processes: Processes, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}\n{processes.logs()}")


def _advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        return cursor.fetchone()[0]


def test_worker_killed_mid_batch_every_no_show_done_exactly_once(redis_url, celery_processes):
    ids = _overdue_appointments(300)
    no_shows = Appointment.objects.filter(pk__in=ids, status=Appointment.Status.NO_SHOW)
    first = celery_processes.worker("first")
    _send(redis_url, "appointments.no_show")

    done_at_kill = _wait_for(
        lambda: no_shows.count() >= 30 and no_shows.count(),
        timeout=60,
        processes=celery_processes,
        what="the first worker to start the batch",
        interval=0.02,
    )
    celery_processes.kill(first)
    left = no_shows.count()
    assert left < len(ids), "the batch finished before the worker was killed"
    assert done_at_kill >= 30
    # The killed worker's database session (and its advisory lock) is gone before the message returns.
    _wait_for(lambda: _advisory_locks_held() == 0, timeout=10, processes=celery_processes, what="the lock to go")

    celery_processes.worker("second")
    _wait_for(
        lambda: no_shows.count() == len(ids) and JobRun.objects.filter(name="appointments.no_show", ok=True).exists(),
        timeout=90,
        processes=celery_processes,
        what="the second worker to finish the batch",
        interval=0.2,
    )

    counts = _no_show_audit_counts(ids)
    assert set(counts.values()) == {1}, "an appointment audited other than exactly once"
    runs = list(JobRun.objects.filter(name="appointments.no_show").order_by("started_at"))
    # The first run was cut off (never finished); the message delivered again finished the rest.
    assert runs[0].finished_at is None and runs[0].trigger == "worker"
    finished = [run for run in runs if run.ok]
    assert sum(run.result.get("marked", 0) for run in finished) == len(ids) - left


def _due_reminders(count: int, *, per_slot: int = 100) -> list[int]:
    """`count` booked appointments starting in three hours (due their 24-hour reminder), each of its
    own patient with an e-mail address, inserted in bulk."""
    doctor = DoctorFactory()
    start = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    slots = Slot.objects.bulk_create(
        [
            Slot(
                hospital=doctor.hospital,
                doctor=doctor,
                start=start + timedelta(minutes=index),
                end=start + timedelta(minutes=index + 1),
                local_date=start.date(),
                capacity=per_slot,
                booked=per_slot,
                last_token=per_slot,
            )  # fmt: skip
            for index in range(count // per_slot)
        ]
    )
    patients = User.objects.bulk_create(
        [
            User(username=f"reminded{n}", fullname=f"Patient {n}", email=f"p{n}@example.org", password="!")
            for n in range(count)
        ]  # fmt: skip
    )
    Appointment.objects.bulk_create(
        [
            Appointment(
                patient=patient,
                slot=slots[n // per_slot],
                doctor=doctor,
                hospital=doctor.hospital,
                token_number=n % per_slot + 1,
            )  # fmt: skip
            for n, patient in enumerate(patients)
        ]
    )
    return list(Appointment.objects.filter(slot__in=slots).values_list("pk", flat=True))


def _messages_written(folder: Path) -> Counter:
    """How many times each delivery's e-mail was written by the file backend (by its Message-ID)."""
    pattern = re.compile(r"^Message-ID: <hms\.delivery\.(\d+)@", re.MULTILINE)
    counts = Counter()
    for path in folder.glob("*.log"):
        counts.update(int(pk) for pk in pattern.findall(path.read_text(errors="replace")))
    return counts


def test_worker_killed_during_a_reminder_batch_every_reminder_sent_once(redis_url, celery_processes, tmp_path):
    count = 2000
    ids = _due_reminders(count)
    mail_folder = tmp_path / "mail"
    celery_processes.env.update(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_folder),
        NOTIFY_LEASE_SECONDS="3",  # the killed worker's claimed page comes due again after 3 s
    )
    sent = Delivery.objects.filter(channel="email", status=Delivery.Status.SENT)
    first = celery_processes.worker("first")
    _send(redis_url, "notifications.reminders")
    _send(redis_url, "notifications.deliver")

    _wait_for(
        lambda: sent.count() >= 200,
        timeout=90,
        processes=celery_processes,
        what="the first worker to create the reminders and start sending them",
        interval=0.02,
    )
    celery_processes.kill(first)
    assert sent.count() < count, "the batch finished before the worker was killed"
    _wait_for(lambda: _advisory_locks_held() == 0, timeout=10, processes=celery_processes, what="the lock to go")

    celery_processes.worker("second")

    def all_sent() -> bool:
        if sent.count() == count:
            return True
        _send(redis_url, "notifications.deliver")  # what beat does every few seconds
        return False

    _wait_for(all_sent, timeout=120, processes=celery_processes, what="the second worker to send the rest", interval=1)
    celery_processes.stop_all()

    keys = set(Notification.objects.values_list("key", flat=True))
    assert keys == {f"reminder:{pk}:24" for pk in ids} and Notification.objects.count() == count
    emails = set(Delivery.objects.filter(channel="email").values_list("pk", flat=True))
    written = _messages_written(mail_folder)
    assert set(written) == emails, "a reminder's e-mail was never written"
    # Exactly once, but for the one message a kill may catch between handing it over and recording it.
    assert sum(times - 1 for times in written.values()) <= 1, written.most_common(3)
    runs = list(JobRun.objects.filter(name="notifications.deliver").order_by("started_at"))
    assert runs[0].finished_at is None and runs[0].trigger == "worker"  # the run cut off by the kill


def test_two_beats_do_not_double_a_jobs_effects(redis_url, celery_processes):
    ids = _overdue_appointments(60, per_slot=20)
    sync_periodic_tasks()
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(name="appointments.no_show").update(enabled=False)
    PeriodicTask.objects.filter(name="appointments.no_show").update(interval=every_second, last_run_at=None)
    PeriodicTasks.update_changed()

    celery_processes.worker("one")
    celery_processes.worker("two")
    celery_processes.beat("beat-a")
    celery_processes.beat("beat-b")

    no_shows = Appointment.objects.filter(pk__in=ids, status=Appointment.Status.NO_SHOW)
    _wait_for(
        lambda: no_shows.count() == len(ids) and JobRun.objects.filter(name="appointments.no_show").count() >= 4,
        timeout=60,
        processes=celery_processes,
        what="beats to send the job several times and the batch to be done",
        interval=0.2,
    )
    celery_processes.stop_all()

    counts = _no_show_audit_counts(ids)
    assert set(counts.values()) == {1}
    runs = JobRun.objects.filter(name="appointments.no_show", finished_at__isnull=False)
    assert sum((run.result or {}).get("marked", 0) for run in runs) == len(ids)


def test_system_status_counts_the_redis_queue(redis_url, admin_client, settings):
    import redis

    redis.Redis.from_url(redis_url).delete("celery")
    settings.CELERY_BROKER_URL = redis_url
    for _ in range(3):
        _send(redis_url, "feed.prune")
    queue = admin_client.get("/api/v1/system/status").json()["queue"]
    assert queue == {"name": "celery", "broker": "redis", "depth": 3}
    redis.Redis.from_url(redis_url).delete("celery")


def test_worker_killed_mid_delivery_every_webhook_delivered_once(redis_url, celery_processes, tmp_path):
    """A worker SIGKILLed while an endpoint holds its request: a second worker sends the rest at once
    and the one in flight after its lease, so every delivery reaches the endpoint, is recorded
    delivered once, and only the one in flight arrives twice (same `webhook-id`, for the receiver's
    dedupe)."""
    import standardwebhooks

    from webhooks.models import WebhookDelivery
    from webhooks.tests.endpoint import make_certificate, serve
    from webhooks.tests.factories import WebhookDeliveryFactory, WebhookFactory

    certificate = make_certificate(tmp_path)
    endpoint, server = serve(certificate)
    try:
        webhook = WebhookFactory(url=endpoint.url, topics=["hospital.1.beds"])
        deliveries = WebhookDeliveryFactory.create_batch(12, webhook=webhook)
        in_flight = 4
        endpoint.hold(in_flight)  # the 4th request is held, unanswered, until the worker is dead
        celery_processes.env.update(
            # The tests' allowance for the local endpoint (https stays required; SSRF rules unchanged).
            WEBHOOKS_ALLOW_PRIVATE="true",
            WEBHOOKS_CA_BUNDLE=str(certificate[0]),
            WEBHOOKS_TIMEOUT_SECONDS="2",
            WEBHOOKS_LEASE_SECONDS="1",  # raised to twice one send's limit: 2 x (2 s + 5 s connect) = 14 s
        )
        first = celery_processes.worker("first")
        _send(redis_url, "webhooks.deliver")
        if not endpoint.arrived.wait(60):
            pytest.fail(f"the first worker never reached the endpoint\n{celery_processes.logs()}")
        celery_processes.kill(first)
        endpoint.release()
        delivered = WebhookDelivery.objects.filter(webhook=webhook, status=WebhookDelivery.Status.DELIVERED)
        assert delivered.count() == in_flight - 1, "the kill did not land mid-batch"
        _wait_for(lambda: _advisory_locks_held() == 0, timeout=10, processes=celery_processes, what="the lock to go")

        celery_processes.worker("second")

        def all_delivered() -> bool:
            if delivered.count() == len(deliveries):
                return True
            _send(redis_url, "webhooks.deliver")  # what beat does every few seconds
            return False

        _wait_for(all_delivered, timeout=60, processes=celery_processes, what="every delivery", interval=1)
        celery_processes.stop_all()
    finally:
        endpoint.release()
        server.shutdown()
        server.server_close()

    received = Counter(request["headers"]["webhook-id"] for request in endpoint.received)
    held_id = endpoint.received[in_flight - 1]["headers"]["webhook-id"]
    assert set(received) == {delivery.message_id for delivery in deliveries}, "a delivery never reached it"
    assert received == {**dict.fromkeys(received, 1), held_id: 2}, received  # only the one in flight twice
    rows = list(WebhookDelivery.objects.filter(webhook=webhook))
    assert {(row.status, row.attempts, row.response_status) for row in rows} == {("delivered", 1, 204)}
    for request in endpoint.received:  # each one signed (Standard Webhooks, checked independently)
        standardwebhooks.Webhook(webhook.secret).verify(request["body"], request["headers"])
    runs = list(JobRun.objects.filter(name="webhooks.deliver").order_by("started_at"))
    assert runs[0].finished_at is None and runs[0].trigger == "worker"  # the run cut off by the kill
