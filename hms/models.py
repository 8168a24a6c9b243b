"""Plumbing's own rows: the record of each scheduled job's runs (API.md section 16)."""

from django.db import models


class JobRun(models.Model):
    """One run of a registered job (hms.jobs), by a worker or by `manage.py run_job`.

    A run starts as a row with `finished_at` null and is completed when the job returns or fails; a
    worker killed mid-run leaves it unfinished (its task is delivered again and recorded anew). The
    last run of a job is one index lookup (name, started_at descending).
    """

    class Trigger(models.TextChoices):
        WORKER = "worker"
        COMMAND = "command"

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
