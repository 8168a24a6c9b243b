"""Running a registered job and recording the run (JobRun); the broker's queue depth.

Both the Celery task (hms/tasks.py) and `manage.py run_job` come here, so a job run by cron, by hand or
by a worker is recorded the same way. On PostgreSQL a session advisory lock per job name keeps two
runs of one job from overlapping (two beats, or a message delivered again while the first run is
still going): the second run is recorded as skipped. The jobs do not rely on it (each one is
idempotent and uses row locks or conditional updates), it only saves the duplicate work.
"""

import logging
import zlib
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from hms import jobs as registry
from hms.models import JobRun

logger = logging.getLogger("hms.jobs")

# First key of the two-key advisory lock: the jobs' namespace (the second is the name's CRC-32).
LOCK_NAMESPACE = 0x4A0B
QUEUE_NAME = "celery"


class UnknownJob(LookupError):
    pass


@contextmanager
def _exclusive(name: str):
    """Yield True when this process may run job `name` now (always on databases without advisory locks)."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = zlib.crc32(name.encode()) - 2**31  # a signed int4
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, key])


def run(name: str, *, trigger: str) -> JobRun:
    """Run job `name` once and return its recorded run (ok False with the error when it raised)."""
    job = registry.get(name)
    if job is None:
        raise UnknownJob(f"No job is registered as {name!r}.")
    run = JobRun.objects.create(name=name, trigger=trigger, started_at=timezone.now())
    with _exclusive(name) as acquired:
        if not acquired:
            return _finish(run, ok=True, result={"skipped": "another run of this job was in progress"})
        try:
            result = job.func()
        except Exception as exc:
            logger.exception("job %s failed", name)
            return _finish(run, ok=False, error=f"{type(exc).__name__}: {exc}"[:2000])
    logger.info("job %s done: %s", name, result)
    return _finish(run, ok=True, result=result)


def _finish(run: JobRun, *, ok: bool, result=None, error: str = "") -> JobRun:
    run.finished_at, run.ok, run.result, run.error = timezone.now(), ok, result, error
    run.save(update_fields=["finished_at", "ok", "result", "error"])
    keep = timedelta(days=settings.JOB_RUNS_RETENTION_DAYS)
    JobRun.objects.filter(name=run.name, started_at__lt=run.started_at - keep).delete()
    return run


def last_run(name: str) -> JobRun | None:
    return JobRun.objects.filter(name=name).order_by("-started_at", "-id").first()


def broker_kind() -> str:
    """The broker's transport as a word (redis, filesystem, ...), never its address or password."""
    return settings.CELERY_BROKER_URL.split("://", 1)[0].split("+")[0] or "unknown"


def queue_depth() -> int | None:
    """Messages waiting in the job queue: Redis `LLEN`, or the files of the filesystem broker; None
    when the broker cannot be asked (down, or a transport we cannot count)."""
    kind = broker_kind()
    if kind in ("redis", "rediss"):
        import redis

        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
            return int(client.llen(QUEUE_NAME))
        except redis.RedisError:
            return None
    if kind == "filesystem":
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
        if not folder or not Path(folder).is_dir():
            return 0 if folder else None
        return sum(1 for path in Path(folder).iterdir() if path.name.endswith(f".{QUEUE_NAME}.msg"))
    return None
