"""The `notifications.deliver` job: send due e-mail and SMS deliveries, retry failures with backoff.

Claim, send, record:
- A worker claims a page of due rows in one statement (UPDATE ... WHERE id = ANY(SELECT ... FOR UPDATE
  SKIP LOCKED) RETURNING, joined to the notifications): their next attempt moves a lease ahead and
  their attempts go up, committed at once. Two workers never claim the same row.
- It sends outside any transaction (an SMTP server or SMS provider that hangs holds no lock), over
  one e-mail connection per run.
- It records each message as sent right after handing it over (one short UPDATE, committed), so a
  worker killed mid-page leaves the rest of the page pending, retried when the lease
  (NOTIFY_LEASE_SECONDS) ends: nothing is lost, and at most the one message in flight at the kill
  goes out twice (no mail system can make "handed over" and "recorded" one step). The e-mail's
  Message-ID names the delivery, so a resent copy carries the same id and a mail client shows it once.
An outage fails no API write: the write only created the row.
"""

import json
import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import Channel, Delivery, Notification
from notifications.services import Templates, postgresql_path
from notifications.sms import send_sms

logger = logging.getLogger(__name__)

BATCH = 500
# One run sends pages until nothing is due or this long has passed (the next run goes on).
RUN_SECONDS = 120
MAX_BACKOFF_SECONDS = 6 * 3600


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: NOTIFY_BACKOFF_SECONDS * 2^(n-1), at most 6 hours."""
    return timedelta(seconds=min(settings.NOTIFY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


class _Outbox:
    """One e-mail connection per run (opened at the first e-mail, reopened after a failure) and the
    compiled HTML templates."""

    def __init__(self):
        self._connection = None
        self.templates = Templates("html")

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


class _Email(EmailMultiAlternatives):
    """A random 128-bit MIME boundary chosen here: the standard library would otherwise compile a
    regular expression per message to prove its own boundary absent from the text (a sixth of the
    cost of a message)."""

    def message(self, *args, **kwargs):
        message = super().message(*args, **kwargs)
        if message.is_multipart():
            message.set_boundary(f"==hms-{secrets.token_hex(16)}==")
        return message


def _send_email(delivery: Delivery, outbox: _Outbox) -> None:
    notification = delivery.notification
    context = {"notification": notification, "title": notification.title, "body": notification.body}
    html = outbox.templates.get(notification.event).render(context)
    message = _Email(
        subject=notification.title,
        body=f"{notification.body}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
        connection=outbox.connection(),
        # The same id on a copy resent after a worker died between sending and recording it.
        headers={"Message-ID": f"<hms.delivery.{delivery.pk}@{DNS_NAME}>"},
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def _send_sms(delivery: Delivery, outbox: _Outbox) -> None:
    notification = delivery.notification
    send_sms(delivery.address, f"{notification.title}: {notification.body}"[:480])


SENDERS = {Channel.EMAIL: _send_email, Channel.SMS: _send_sms}


def _tables() -> dict:
    quote = connection.ops.quote_name
    return {"delivery": quote(Delivery._meta.db_table), "notification": quote(Notification._meta.db_table)}


def _claim(now, limit: int) -> list[Delivery]:
    """Claim up to `limit` due deliveries (a lease and one more attempt, committed): with their
    notifications, in id order."""
    lease = now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    if not postgresql_path():  # SQLite (`make run`): one writer at a time, the same lease
        with transaction.atomic():
            ids = list(
                Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "id")
                .values_list("id", flat=True)[:limit]
            )
            Delivery.objects.filter(id__in=ids).update(attempts=F("attempts") + 1, next_attempt_at=lease)
        return list(Delivery.objects.filter(id__in=ids).select_related("notification").order_by("id"))
    tables = _tables()
    # Table names from the models, values as parameters.
    sql = """
        WITH claimed AS (
            UPDATE {delivery} SET attempts = attempts + 1, next_attempt_at = %s
            WHERE id = ANY(ARRAY(
                SELECT id FROM {delivery} WHERE status = %s AND next_attempt_at <= %s
                ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED
            ))
            RETURNING id, channel, address, attempts, notification_id
        )
        SELECT claimed.id, claimed.channel, claimed.address, claimed.attempts,
               note.id, note.category, note.event, note.title, note.body, note.data
        FROM claimed JOIN {notification} note ON note.id = claimed.notification_id
        ORDER BY claimed.id
    """.format(**tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [lease, Delivery.Status.PENDING, now, limit])
        rows = cursor.fetchall()
    claimed = []
    for pk, channel, address, attempts, note_pk, category, event, title, body, data in rows:
        if isinstance(data, str):
            data = json.loads(data)
        notification = Notification(pk=note_pk, category=category, event=event, title=title, body=body, data=data)
        claimed.append(Delivery(pk=pk, notification=notification, channel=channel, address=address, attempts=attempts))
    return claimed


class _Recorder:
    """Records each message as sent right after it was handed over: one UPDATE (committed on its own
    outside a transaction), put on the wire before the next message is sent and its answer read
    while that one is rendered and sent, so the round trip to the database overlaps the next send
    instead of adding to it. A worker killed after the UPDATE left the process still has it executed
    and committed by the server (the statement and its Sync are received whole before the server
    notices the client is gone)."""

    def __init__(self):
        self.sql = (
            f"UPDATE {_tables()['delivery']} SET status = $1, sent_at = $2, next_attempt_at = NULL, last_error = ''"  # noqa: S608
            " WHERE id = $3 AND status = $4"
        ).encode()
        self.pgconn = None
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            self.pgconn = getattr(connection.connection, "pgconn", None)
        self.in_flight = False

    def record(self, pk: int) -> None:
        self.drain()
        now = timezone.now()
        if self.pgconn is None:
            Delivery.objects.filter(pk=pk, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.SENT, sent_at=now, next_attempt_at=None, last_error=""
            )
            return
        params = [Delivery.Status.SENT.encode(), now.isoformat().encode(), str(pk).encode(), b"pending"]
        self.pgconn.send_query_params(self.sql, params)
        while self.pgconn.flush():  # the statement leaves this process before the next message
            pass
        self.in_flight = True

    def drain(self) -> None:
        """Read the answer of the UPDATE in flight (before the connection is used for anything else)."""
        if not self.in_flight:
            return
        from psycopg import pq

        self.in_flight = False
        error = None
        while (answer := self.pgconn.get_result()) is not None:
            if answer.status != pq.ExecStatus.COMMAND_OK:
                error = (answer.error_message or b"").decode(errors="replace")
        if error:
            raise DatabaseError(f"Recording a sent delivery failed: {error}")


def deliver(*, limit: int = BATCH) -> dict:
    """Send the due deliveries, a page of `limit` at a time, until none is due (or RUN_SECONDS have
    passed): {"sent", "retrying", "failed"}."""
    result = {"sent": 0, "retrying": 0, "failed": 0}
    outbox = _Outbox()
    recorder = _Recorder()
    began = time.monotonic()
    try:
        while True:
            page = _claim(timezone.now(), limit)
            for delivery in page:
                try:
                    SENDERS[delivery.channel](delivery, outbox)
                except Exception as error:  # noqa: BLE001 - any failure of a backend is retried, never raised
                    outbox.reset()
                    recorder.drain()
                    _failed(delivery, f"{type(error).__name__}: {error}"[:500], result)
                    continue
                recorder.record(delivery.pk)
                result["sent"] += 1
            recorder.drain()
            if len(page) < limit or time.monotonic() - began > RUN_SECONDS:
                break
    finally:
        outbox.reset()
        recorder.drain()
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
