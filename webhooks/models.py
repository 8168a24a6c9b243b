"""Webhooks (API.md section 16): endpoints that receive the change feed's events, signed, with a
delivery log. Rows are never deleted through the API: DELETE deactivates."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from hms.db_fields import text_choices
from hms.models import SingleRow, Timestamped, single_row_check


class Webhook(Timestamped):
    url = models.URLField(max_length=2000)
    topics = models.JSONField(default=list)  # feed topic names, e.g. ["hospital.1.beds"]
    is_active = models.BooleanField(default=True)
    # The Standard Webhooks secret (`whsec_` + base64). Kept to sign; shown once, at creation.
    secret = models.CharField(max_length=100)
    # Failed attempts since the last success, and when that run of failures began (deactivation
    # after WEBHOOKS_DEACTIVATE_AFTER of continuous failure).
    failure_count = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    # Events up to this id were published before the webhook existed: they are not sent to it.
    start_after_event_id = models.BigIntegerField(default=0)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="webhooks"
    )  # the hospital admin's hospital; None for an administrator's webhook
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="webhooks"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["is_active"], name="webhook_active")]

    def __str__(self):
        return f"webhook {self.pk} {self.url}"


class WebhookDelivery(Timestamped):
    Status = text_choices("Status", "pending delivered failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="deliveries")
    event_id = models.BigIntegerField(null=True, blank=True)  # None for a test ping
    # The message as sent (events are pruned from the feed; a retry or redelivery sends this).
    message_id = models.CharField(max_length=64)  # the `webhook-id` header and the body's `id`
    event_type = models.CharField(max_length=50)
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict)  # the body's `data`
    occurred_at = models.DateTimeField(default=timezone.now)  # the body's `timestamp`
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")  # at most 1 KB of the last answer
    last_error = models.CharField(max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    retry_started_at = models.DateTimeField(default=timezone.now)  # retries stop WEBHOOKS_RETRY_HOURS after it
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Fan-out may run twice or in two workers at once: one delivery per webhook and event.
            models.UniqueConstraint(fields=["webhook", "event_id"], name="webhook_delivery_one_per_event"),
            models.CheckConstraint(
                condition=~models.Q(status="pending") | models.Q(next_attempt_at__isnull=False),
                name="webhook_delivery_pending_has_next_attempt",
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due"),
        ]

    def __str__(self):
        return f"delivery {self.pk} of {self.message_id} to webhook {self.webhook_id}: {self.status}"


class FanOutCursor(SingleRow):
    """A single row: the highest feed event id fanned out to webhooks. Locked FOR UPDATE per batch,
    so two fan-out runs take turns."""

    position = models.BigIntegerField(default=0)

    class Meta:
        constraints = [single_row_check("webhook_cursor_single_row")]

    def __str__(self):
        return f"fanned out through event {self.position}"
