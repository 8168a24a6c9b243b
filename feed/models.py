"""The change feed: one row per committed change that a topic shows, written in the change's transaction."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from hms.models import SingleRow, single_row_check


class PendingEvent(models.Model):
    """An event written by a change's transaction and not yet numbered (see `feed.publish`).

    A sequence hands out numbers at insert, not at commit: had the change drawn its public id, a
    transaction holding id 100 uncommitted while id 101 commits would let a reader pass 100 for ever.
    So a change only appends here (no lock, no waiting on other writers), and the publisher numbers
    what has committed, one publisher at a time: every id is visible before any larger one.
    """

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    topic = models.CharField(max_length=100)
    type = models.CharField(max_length=50)
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)

    def __str__(self):
        return f"pending {self.seq} {self.topic} {self.type}"


class Event(models.Model):
    """One committed change, as subscribers receive it, numbered in the order it was published.
    Append-only; pruned after EVENTS_RETENTION_HOURS."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    topic = models.CharField(max_length=100)
    type = models.CharField(max_length=50)
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["topic", "id"], name="feed_event_topic_id"),
            models.Index(fields=["at"], name="feed_event_at"),
        ]

    def __str__(self):
        return f"{self.id} {self.topic} {self.type}"


class FeedState(SingleRow):
    """A single row: the publishers' lock, and the highest event id pruned so far (a replay from
    below it is a `reset`)."""

    pruned_through = models.BigIntegerField(default=0)

    class Meta:
        constraints = [single_row_check("feed_state_single_row")]

    def __str__(self):
        return f"pruned through {self.pruned_through}"


class StreamTicket(models.Model):
    """A one-use, 60-second ticket for EventSource (which cannot send headers), bound to a user,
    its topics and the access token that asked for it (the stream ends when that token would)."""

    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the ticket: the ticket itself is never stored
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    topics = models.JSONField(default=list)
    token_jti = models.CharField(max_length=64)
    token_expires_at = models.DateTimeField()
    auth_version = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"ticket of user {self.user_id} for {', '.join(self.topics)}"
