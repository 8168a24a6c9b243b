"""The change feed's scheduled job (API.md section 16), registered in FeedConfig.ready()."""

from django.conf import settings

from feed import reader
from hms import jobs


def prune_events() -> dict:
    """Events older than EVENTS_RETENTION_HOURS deleted (what `manage.py prune_events` does)."""
    return {"deleted": reader.prune(hours=settings.EVENTS_RETENTION_HOURS)}


def register_jobs() -> None:
    jobs.register(
        "feed.prune",
        prune_events,
        every_seconds=3600,
        description="Change-feed events older than EVENTS_RETENTION_HOURS deleted.",
    )
