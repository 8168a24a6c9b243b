"""The two webhook jobs: `fan_out` turns published feed events into deliveries, `deliver` sends the
due ones. Both are idempotent and safe to run in several workers at once."""

import json
import time
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from feed import reader
from feed.emit import emit_many
from feed.models import Event
from feed.topics import user_topic
from hms.api.roles import Role
from webhooks import sender, signing
from webhooks.models import FanOutCursor, Webhook, WebhookDelivery

# Wait after the n-th failed attempt (the last repeats) until WEBHOOKS_RETRY_HOURS have passed:
# attempts at 0, 5 s, 5 min, 35 min, 2.6 h, 7.6 h, 17.6 h, 27.6 h -> failed.
BACKOFF = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=5), timedelta(hours=10)]  # fmt: skip
# A claimed delivery is not claimed again for WEBHOOKS_LEASE_SECONDS (default 120), and never sooner than
# twice what one send can take (connect + answer), so only a worker killed mid-send makes it go out
# again (at least once).
# One run stops claiming after this long, so a beat tick never holds a worker for long.
RUN_SECONDS = 50


def _cursor() -> FanOutCursor:
    try:
        with transaction.atomic():
            FanOutCursor.objects.get_or_create(id=1)
    except IntegrityError:  # created by a concurrent run
        pass
    return FanOutCursor.objects.select_for_update().get(id=1)


def fan_out(*, batch: int = 500) -> dict:
    """One delivery per (active webhook subscribed to the event's topic, event), for the events
    published after the stored cursor, a batch per transaction holding the cursor's row lock."""
    reader.publish()
    events_seen = created = 0
    while True:
        with transaction.atomic():
            cursor = _cursor()
            events = list(Event.objects.filter(id__gt=cursor.position).order_by("id")[:batch])
            if not events:
                break
            webhooks = list(Webhook.objects.filter(is_active=True).only("id", "topics", "start_after_event_id"))
            rows = [
                WebhookDelivery(
                    webhook_id=webhook.pk,
                    event_id=event.pk,
                    message_id=f"evt_{event.pk}",
                    event_type=event.type,
                    payload={
                        "id": event.pk,
                        "at": event.at,
                        "topic": event.topic,
                        "type": event.type,
                        "data": event.data,
                    },
                    occurred_at=event.at,
                    next_attempt_at=timezone.now(),
                    retry_started_at=timezone.now(),
                )
                for event in events
                for webhook in webhooks
                if event.topic in webhook.topics and event.pk > webhook.start_after_event_id
            ]
            # The unique (webhook, event_id) constraint is the backstop should a run ever repeat a batch.
            created += len(WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True))
            cursor.position = events[-1].pk
            cursor.save(update_fields=["position"])
            events_seen += len(events)
        if len(events) < batch:
            break
    return {"events": events_seen, "deliveries": created}


def _claim(limit: int) -> list[WebhookDelivery]:
    """Due deliveries of active webhooks, taken by this run alone: rows another run has locked are
    skipped, and a claimed row's next attempt moves a lease ahead so no other run picks it up."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, webhook__is_active=True)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        lease = timedelta(
            seconds=max(
                settings.WEBHOOKS_LEASE_SECONDS, 2 * (settings.WEBHOOKS_TIMEOUT_SECONDS + sender.CONNECT_TIMEOUT)
            )
        )
        WebhookDelivery.objects.filter(id__in=claimed).update(next_attempt_at=now + lease)
    return list(WebhookDelivery.objects.filter(id__in=claimed).select_related("webhook").order_by("id"))


def message(delivery: WebhookDelivery) -> bytes:
    body = {
        "id": delivery.message_id,
        "type": delivery.event_type,
        "timestamp": delivery.occurred_at,
        "data": delivery.payload,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def _send(delivery: WebhookDelivery) -> sender.Outcome:
    body = message(delivery)
    timestamp = int(timezone.now().timestamp())
    headers = {
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign(delivery.webhook.secret, delivery.message_id, timestamp, body),
        "User-Agent": "HMS-Webhooks/1",
    }
    return sender.post(delivery.webhook.url, body, headers)


def _owners(webhook: Webhook) -> list[int]:
    """Who hears of a deactivation: its creator and its hospital's admins (admins for theirs)."""
    from accounts.models import User

    owners = {webhook.created_by_id} if webhook.created_by_id else set()
    if webhook.hospital_id:
        owners |= set(
            User.objects.filter(role=Role.HOSPITAL_ADMIN, hospital_id=webhook.hospital_id, is_active=True).values_list(
                "id", flat=True
            )
        )
    return sorted(owners)


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: sender.Outcome) -> str:
    """Store one attempt's outcome; returns the delivery's status after it."""
    now = timezone.now()
    current = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
    if current is None or current.status != WebhookDelivery.Status.PENDING:
        return current.status if current else WebhookDelivery.Status.FAILED
    current.attempts += 1
    current.response_status, current.response_body = outcome.status, outcome.body[: sender.MAX_KEPT_BODY]
    current.last_error = outcome.error[:300]
    webhooks = Webhook.objects.filter(pk=current.webhook_id)
    if outcome.delivered:
        current.status, current.delivered_at, current.next_attempt_at = WebhookDelivery.Status.DELIVERED, now, None
        webhooks.exclude(failure_count=0, failing_since=None).update(failure_count=0, failing_since=None)
    else:
        if now - current.retry_started_at >= timedelta(hours=settings.WEBHOOKS_RETRY_HOURS):
            current.status, current.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            current.next_attempt_at = now + BACKOFF[min(current.attempts, len(BACKOFF)) - 1]
        webhooks.update(failure_count=F("failure_count") + 1)
        webhooks.filter(failing_since=None).update(failing_since=now)
        cutoff = now - timedelta(hours=settings.WEBHOOKS_DEACTIVATE_AFTER_HOURS)
        # A conditional UPDATE: of two runs failing at once, one deactivates and notifies.
        if webhooks.filter(is_active=True, failing_since__lte=cutoff).update(is_active=False, updated_at=now):
            webhook = Webhook.objects.get(pk=current.webhook_id)
            data = {"webhook_id": webhook.pk, "url": webhook.url, "failing_since": webhook.failing_since,
                    "failure_count": webhook.failure_count, "last_error": current.last_error}  # fmt: skip
            emit_many([(user_topic(owner), "webhook.deactivated", data) for owner in _owners(webhook)])
    current.save()
    return current.status


def deliver(*, limit: int = 100) -> dict:
    """Send due deliveries one claim at a time (at most `limit`, for at most RUN_SECONDS); each
    outcome stored at once. Several runs at once share the due rows between them."""
    counts = {"delivered": 0, "failed": 0, "retrying": 0}
    started = time.monotonic()
    for _ in range(limit):
        if time.monotonic() - started > RUN_SECONDS:
            break
        claimed = _claim(1)
        if not claimed:
            break
        status = _record(claimed[0], _send(claimed[0]))
        counts["retrying" if status == WebhookDelivery.Status.PENDING else status] += 1
    return counts
