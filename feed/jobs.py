"""The change feed's scheduled job (API.md section 16), imported (so registered) by FeedConfig.ready()."""

from django.conf import settings

from feed import reader
from hms import jobs


@jobs.job(
    "feed.prune",
    every_seconds=3600,
    description="Change-feed events older than EVENTS_RETENTION_HOURS deleted.",
)
def prune_events() -> dict:
    """Events older than EVENTS_RETENTION_HOURS deleted (what `manage.py prune_events` does)."""
    return {"deleted": reader.prune(hours=settings.EVENTS_RETENTION_HOURS)}
