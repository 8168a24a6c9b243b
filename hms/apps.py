from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class HmsConfig(AppConfig):
    """The API plumbing's start-up: it knows no app of ours, so it starts here and not in one of them."""

    name = "hms"
    verbose_name = "HMS plumbing"

    def ready(self):
        from hms.api import strict
        from hms.api.readcache import model_saved_or_deleted

        # JSON input is type-checked strictly (hms.api.strict): DRF's field classes are patched once.
        strict.install()
        # A path resolves to the same view every time: the root resolver's answers are kept (hms.api.urlcache).
        from hms.api.urlcache import keep_resolutions

        keep_resolutions()
        # Any committed save or delete replaces the read cache's write generation.
        post_save.connect(model_saved_or_deleted, dispatch_uid="hms.readcache.saved")
        post_delete.connect(model_saved_or_deleted, dispatch_uid="hms.readcache.deleted")
        # Beat's schedules (django-celery-beat): one PeriodicTask per registered job after every migrate.
        from hms import jobs
        from hms.api.idempotency import prune_expired
        from hms.jobs.schedules import sync_periodic_tasks

        jobs.register(
            "hms.idempotency_prune",
            prune_expired,
            every_seconds=3600,
            description="Idempotency keys past their 24 hours deleted.",
        )

        post_migrate.connect(sync_periodic_tasks, sender=self, dispatch_uid="hms.jobs.sync_periodic_tasks")
