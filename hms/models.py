"""Plumbing's own rows: the record of each scheduled job's runs (API.md section 16), the idempotency
keys; and the abstract models apps extend: `Timestamped` (`created_at` / `updated_at`), `TrailEntry`
and `SingleRow`."""

from django.db import models
from django.utils import timezone

from hms.db_fields import text_choices, user_reference


class Timestamped(models.Model):
    """`created_at` is set on insert, `updated_at` on every save."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TrailEntry(models.Model):
    """One entry of an append-only trail (a status change, a step): when, and by whom; oldest first."""

    at = models.DateTimeField(default=timezone.now)
    actor = user_reference()

    class Meta:
        abstract = True
        ordering = ["at", "id"]


class SingleRow(models.Model):
    """A table of one row, id 1 (a lock or a cursor that workers take turns on); its Meta adds
    `single_row_check(name)`, which keeps a second row out."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    class Meta:
        abstract = True


def single_row_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(id=1), name=name)


class JobRun(models.Model):
    """One run of a registered job (hms.jobs), by a worker or by `manage.py run_job`.

    A run starts as a row with `finished_at` null and is completed when the job returns or fails; a
    worker killed mid-run leaves it unfinished (its task is delivered again and recorded anew). The
    last run of a job is one index lookup (name, started_at descending).
    """

    Trigger = text_choices("Trigger", "worker command")

    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="Null while running (or when the run was cut off).")
    result = models.JSONField(null=True, blank=True, help_text='The job\'s summary, e.g. {"marked": 3}.')
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "-started_at"], name="jobrun_name_started")]

    def __str__(self):
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


JobRunTrigger = JobRun.Trigger  # for the OpenAPI enum's name (SPECTACULAR_SETTINGS)


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` in use or answered (hms.api.idempotency), kept in the database with the
    write it guards: the answer is stored in the same transaction as the write, so no cache outage or
    restart can let a retry act twice.

    A row is claimed (status null) with a random `lease` until `locked_until`; the request's
    transaction stores the answer only while it still holds that lease. Rows past `expires_at` (24 h)
    count for nothing and are deleted by the job `hms.idempotency_prune`.
    """

    scope = models.CharField(max_length=64, primary_key=True, help_text="sha256 of caller, method, route, key.")
    fingerprint = models.CharField(max_length=64)
    lease = models.CharField(max_length=32)
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Null while the request runs.")
    body = models.TextField(null=True, blank=True)
    locked_until = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField()

    def __str__(self):
        return f"{self.scope[:12]}… ({self.status or 'running'})"
