"""The `notifications.deliver` job: send due e-mail and SMS deliveries, retry failures with backoff.

A worker claims due rows with SELECT ... FOR UPDATE SKIP LOCKED and moves their next attempt a lease
ahead in a short transaction, then sends outside any transaction (an SMTP server or SMS provider
that hangs holds no lock), then records the outcome. Two workers never claim the same row; a worker
killed between the claim and the record leaves the row pending, retried when the lease ends (at
least once: the message may go out twice, it is never lost). An outage fails no API write: the
write only created the row.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import select_template
from django.utils import timezone

from notifications.models import Channel, Delivery
from notifications.services import template_name
from notifications.sms import send_sms

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300
BATCH = 200
MAX_BACKOFF_SECONDS = 6 * 3600


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: NOTIFY_BACKOFF_SECONDS * 2^(n-1), at most 6 hours."""
    return timedelta(seconds=min(settings.NOTIFY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _send_email(delivery: Delivery, outbox) -> None:
    notification = delivery.notification
    context = {"notification": notification, "title": notification.title, "body": notification.body}
    html = select_template(template_name(notification.event, "html")).render(context)
    message = EmailMultiAlternatives(
        subject=notification.title,
        body=f"{notification.body}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
        connection=outbox.connection(),
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def _send_sms(delivery: Delivery, outbox) -> None:
    notification = delivery.notification
    send_sms(delivery.address, f"{notification.title}: {notification.body}"[:480])


SENDERS = {Channel.EMAIL: _send_email, Channel.SMS: _send_sms}


class _Outbox:
    """One e-mail connection per run (opened at the first e-mail, reopened after a failure)."""

    def __init__(self):
        self._connection = None

    def connection(self):
        if self._connection is None:
            self._connection = get_connection(fail_silently=False)
        return self._connection

    def reset(self):
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                logger.debug("closing the e-mail connection failed", exc_info=True)
            self._connection = None


def _claim(now, limit: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(id__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)
        )
    return ids


def deliver(*, limit: int = BATCH) -> dict:
    """Send the due deliveries (at most `limit`): {"sent", "retrying", "failed"}."""
    now = timezone.now()
    ids = _claim(now, limit)
    result = {"sent": 0, "retrying": 0, "failed": 0}
    outbox = _Outbox()
    try:
        for delivery in Delivery.objects.filter(id__in=ids).select_related("notification").order_by("id"):
            try:
                SENDERS[delivery.channel](delivery, outbox)
            except Exception as error:  # noqa: BLE001 - any failure of a backend is retried, never raised
                outbox.reset()
                _failed(delivery, f"{type(error).__name__}: {error}"[:500], result)
                continue
            # Recorded at once, row by row: a worker killed now sends at most this one message twice.
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
            )
            result["sent"] += 1
    finally:
        outbox.reset()
    return result


def _failed(delivery: Delivery, message: str, result: dict) -> None:
    pending = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING)
    if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        pending.update(status=Delivery.Status.FAILED, next_attempt_at=None, last_error=message)
        result["failed"] += 1
        logger.warning("notification delivery %s failed for good: %s", delivery.pk, message)
    else:
        pending.update(next_attempt_at=timezone.now() + backoff(delivery.attempts), last_error=message)
        result["retrying"] += 1
