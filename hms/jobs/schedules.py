"""Beat's schedules in the database (django-celery-beat), one PeriodicTask per registered job.

Created with the job's default interval when missing (at `migrate` and when beat starts); an
existing task is left as an admin may have changed it (interval, crontab, enabled). The task of a job
no longer registered is disabled, not deleted (its history stays visible in the admin).
"""

import json

from django.db import models, transaction

from hms import jobs as registry

TASK = "hms.run_job"


class ScheduleSource(models.TextChoices):
    BEAT = "beat"  # the job's PeriodicTask (django-celery-beat), as an admin may have changed it
    DEFAULT = "default"  # no PeriodicTask yet: the interval the job is registered with


def schedule_of(task) -> dict:
    """A PeriodicTask's schedule as the status endpoint shows it."""
    every = None
    if task.interval_id:
        every = int(task.interval.schedule.run_every.total_seconds())
    return {
        "source": ScheduleSource.BEAT,
        "every_seconds": every,
        "crontab": str(task.crontab).split(" (")[0] if task.crontab_id else None,
        "enabled": task.enabled,
        "last_sent_at": task.last_run_at,
    }


def default_schedule(job) -> dict:
    return {"source": ScheduleSource.DEFAULT, "every_seconds": job.every_seconds, "crontab": None, "enabled": True,
            "last_sent_at": None}  # fmt: skip


@transaction.atomic
def sync_periodic_tasks(**_signal_kwargs) -> dict:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    names = [job.name for job in registry.jobs()]
    existing = set(PeriodicTask.objects.filter(name__in=names).values_list("name", flat=True))
    created = []
    for job in registry.jobs():
        if job.name in existing:
            continue
        interval = IntervalSchedule.objects.filter(every=job.every_seconds, period=IntervalSchedule.SECONDS).first()
        interval = interval or IntervalSchedule.objects.create(every=job.every_seconds, period=IntervalSchedule.SECONDS)
        _task, made = PeriodicTask.objects.get_or_create(
            name=job.name,
            defaults={
                "interval": interval,
                "task": TASK,
                "args": json.dumps([job.name]),
                "description": job.description,
            },
        )
        if made:
            created.append(job.name)
    disabled = PeriodicTask.objects.filter(task=TASK, enabled=True).exclude(name__in=names).update(enabled=False)
    if disabled:
        # A bulk update sends no signal: tell beat its schedule changed.
        PeriodicTasks.update_changed()
    return {"created": created, "disabled": disabled}
