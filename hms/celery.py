"""The Celery application of the job engine (API.md section 16): configuration from Django settings
(the CELERY_* names), the one task `hms.run_job` (hms/tasks.py), beat's schedules in the database
(django-celery-beat), kept in step with the job registry whenever beat starts."""

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")

app = Celery("hms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _sync_schedules(sender=None, **kwargs):
    """A beat started on a database migrated before a job was added still schedules it."""
    from hms.jobs.schedules import sync_periodic_tasks

    sync_periodic_tasks()
