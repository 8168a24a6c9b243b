"""Notifications (API.md section 16): what a user is told, and how each channel delivered it.

A notification is derived after commit from the change feed or by a job, never inside the write that
caused it. `key` names the occurrence (`event:{event_id}`, `reminder:{appointment_id}:{hours}`, ...)
and `recipient_key` the recipient (`user:{id}`, or `phone:{number}` for a reporter who never signed
in): the unique pair is what makes "exactly one per event, recipient and occurrence" hold when a job
runs twice or two workers race — a constraint, not a check.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hms.db_fields import text_choices

Category = text_choices("Category", "appointments blood emergency account")


Channel = text_choices("Channel", "in_app email sms")


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        help_text="The recipient; empty for a delivery-only notice (an SMS to a reporter who did not sign in).",
    )
    recipient_key = models.CharField(max_length=64)
    key = models.CharField(max_length=200, help_text="The occurrence, e.g. event:42 or reminder:7:24.")
    category = models.CharField(max_length=20, choices=Category.choices)
    event = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    body = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    sms_to = models.CharField(max_length=32, blank=True, default="", help_text="A number given with the event.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["key", "recipient_key"], name="notification_one_per_occurrence"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_user_id"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self):
        return f"{self.event} to {self.recipient_key}"


class Delivery(models.Model):
    Status = text_choices("Status", "pending sent failed skipped")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_one_per_channel"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due"),
        ]

    def __str__(self):
        return f"{self.channel} {self.status} ({self.notification_id})"


class Preference(models.Model):
    """A user's choices per channel and category; a category absent here takes the default (on when
    the user has an address for that channel)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.JSONField(default=dict, blank=True)
    sms = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"preferences of user {self.user_id}"


class FeedCursor(models.Model):
    """A single row per consumer: the last change-feed event it turned into notifications. Locked
    FOR UPDATE while a batch is processed, so two workers never read the same batch."""

    name = models.CharField(max_length=50, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name} at {self.position}"


class LowStockState(models.Model):
    """Whether a bank's usable stock of a group and component is below its threshold now, and how many
    times it crossed below: each crossing notifies its managers once (`low_stock:{bank}:{group}:{component}:{n}`)."""

    blood_bank_id = models.BigIntegerField()
    blood_group = models.CharField(max_length=3)
    component = models.CharField(max_length=20)
    below = models.BooleanField(default=False)
    crossings = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["blood_bank_id", "blood_group", "component"], name="low_stock_state_unique"
            ),
        ]

    def __str__(self):
        return f"bank {self.blood_bank_id} {self.blood_group} {self.component}: {'below' if self.below else 'ok'}"
