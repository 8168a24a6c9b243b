"""Creating notifications (exactly once per occurrence and recipient), reading them, and preferences."""

import json
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.template.loader import select_template
from django.utils import timezone

from accounts.models import User
from feed.emit import emit_many, snapshot
from feed.topics import user_topic
from notifications.models import Category, Channel, Delivery, Notification, Preference

CATEGORIES = list(Category.values)


@dataclass
class Spec:
    """One notification to create: `key` names the occurrence (with the recipient, unique)."""

    key: str
    user_id: int | None
    category: str
    event: str
    context: dict = field(default_factory=dict)  # for the templates
    data: dict = field(default_factory=dict)  # stored and shown as `data`
    sms_to: str = ""  # a number given with the event (an emergency's contact number)

    @property
    def recipient_key(self) -> str:
        return f"user:{self.user_id}" if self.user_id else f"phone:{self.sms_to}"


def template_name(event: str, extension: str) -> list[str]:
    return [f"notifications/{event}.{extension}", f"notifications/default.{extension}"]


class Templates:
    """The compiled template of each event for one extension, looked up once per batch."""

    def __init__(self, extension: str):
        self.extension = extension
        self._compiled = {}

    def get(self, event: str):
        template = self._compiled.get(event)
        if template is None:
            template = self._compiled[event] = select_template(template_name(event, self.extension))
        return template


def render_text(event: str, context: dict, templates: Templates | None = None) -> tuple[str, str]:
    """The title (the template's first line) and the plain-text body (the rest)."""
    text = (templates or Templates("txt")).get(event).render(context).strip()
    title, _, body = text.partition("\n")
    return title.strip()[:200], body.strip()


# --- preferences ----------------------------------------------------------------------------


def preferences_of(user: User, stored: Preference | None, *, phone: str = "") -> dict:
    """Per channel and category: the stored choice, else on when the user has an address there
    (`phone`: a number given with the event, such as an emergency's contact number)."""
    email = stored.email if stored else {}
    sms = stored.sms if stored else {}
    return {
        "email": {category: bool(email.get(category, bool(user.email))) for category in CATEGORIES},
        "sms": {category: bool(sms.get(category, bool(phone or user.phone_num))) for category in CATEGORIES},
    }


def preferences_get(*, user: User) -> dict:
    return preferences_of(user, Preference.objects.filter(user=user).first())


@transaction.atomic
def preferences_set(*, by: User, choices: dict) -> dict:
    """Store the categories given per channel (the others keep their choice or default)."""
    preference, _ = Preference.objects.select_for_update().get_or_create(user=by)
    for channel in ("email", "sms"):
        getattr(preference, channel).update(choices.get(channel) or {})
    preference.save(update_fields=["email", "sms"])
    return preferences_of(by, preference)


# --- creation -------------------------------------------------------------------------------


def _deliveries(notification: Notification, user: User | None, preferences: dict | None) -> list[tuple]:
    """(notification id, channel, address, status) of each channel: in-app sent to a user, e-mail and
    SMS pending where the recipient has an address and has not opted out, else skipped."""
    category, pk = notification.category, notification.pk
    rows = [(pk, Channel.IN_APP, "", Delivery.Status.SENT if user is not None else Delivery.Status.SKIPPED)]
    if user is not None and user.email and preferences["email"][category]:
        rows.append((pk, Channel.EMAIL, user.email, Delivery.Status.PENDING))
    else:
        rows.append((pk, Channel.EMAIL, "", Delivery.Status.SKIPPED))
    number = notification.sms_to or (user.phone_num if user is not None else "")
    if number and (user is None or preferences["sms"][category]):
        rows.append((pk, Channel.SMS, number, Delivery.Status.PENDING))
    else:
        rows.append((pk, Channel.SMS, "", Delivery.Status.SKIPPED))
    return rows


def notification_state(notification: Notification) -> dict:
    return snapshot(notification, "notification_id", ("category", "event", "title"))


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def postgresql_path() -> bool:
    """The set-based statements below are PostgreSQL's; other databases (SQLite for `make run`) take the
    portable path beside each, with the same guards (the unique key, ON CONFLICT DO NOTHING)."""
    return connection.vendor == "postgresql"


def _existing(specs: list[Spec]) -> set[tuple[str, str]]:
    if not postgresql_path():
        keys = {spec.key for spec in specs}
        return set(Notification.objects.filter(key__in=keys).values_list("key", "recipient_key"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, recipient_key FROM {_table(Notification)} WHERE key = ANY(%s)",  # noqa: S608
            [sorted({spec.key for spec in specs})],
        )
        return set(cursor.fetchall())


def _insert_new(notifications: list[Notification], now) -> list[Notification]:
    """One INSERT ... SELECT FROM jsonb_to_recordset(page) ON CONFLICT DO NOTHING RETURNING id: the rows
    inserted (ids set), in order. The page goes as one JSON document (one parameter, serialised in C).

    A row whose (key, recipient_key) exists, or is being inserted by a racing transaction (PostgreSQL
    makes this statement wait for that one's outcome), is left out: created by exactly one of them.
    """
    if not postgresql_path():
        return _insert_new_portable(notifications, now)
    sql = f"""
        INSERT INTO {_table(Notification)}
            (user_id, recipient_key, key, category, event, title, body, data, sms_to, created_at)
        SELECT user_id, recipient_key, key, category, event, title, body, data, sms_to, %s
        FROM jsonb_to_recordset(%s::jsonb) AS page(user_id bigint, recipient_key text, key text, category text,
                                                   event text, title text, body text, data jsonb, sms_to text)
        ON CONFLICT (key, recipient_key) DO NOTHING
        RETURNING id, key, recipient_key
    """  # noqa: S608 - the table name from the model, values as parameters
    page = [
        {"user_id": n.user_id, "recipient_key": n.recipient_key, "key": n.key, "category": n.category,
         "event": n.event, "title": n.title, "body": n.body, "data": n.data, "sms_to": n.sms_to}
        for n in notifications
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, json.dumps(page)])
        ids = {(key, recipient): pk for pk, key, recipient in cursor.fetchall()}
    return _with_ids(notifications, ids)


_INSERT_FIELDS = ("user", "recipient_key", "key", "category", "event", "title", "body", "data", "sms_to", "created_at")


def _insert_new_portable(notifications: list[Notification], now) -> list[Notification]:
    """The same insert as a VALUES list with ON CONFLICT DO NOTHING RETURNING (SQLite 3.35+)."""
    fields = [Notification._meta.get_field(name) for name in _INSERT_FIELDS]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        field.get_db_prep_save(getattr(notification, field.attname), connection)
        for notification in notifications
        for field in fields
    ]
    values = ", ".join([row] * len(notifications))
    sql = (
        f"INSERT INTO {_table(Notification)} ({columns}) VALUES {values}"  # noqa: S608 - names from the model
        " ON CONFLICT (key, recipient_key) DO NOTHING RETURNING id, key, recipient_key"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {(key, recipient): pk for pk, key, recipient in cursor.fetchall()}
    return _with_ids(notifications, ids)


def _with_ids(notifications: list[Notification], ids: dict) -> list[Notification]:
    """The notifications the insert created, in order, with their ids set."""
    inserted = []
    for notification in notifications:
        pk = ids.get((notification.key, notification.recipient_key))
        if pk is not None:
            notification.pk = pk
            notification._state.adding, notification._state.db = False, connection.alias
            inserted.append(notification)
    return inserted


def _insert_deliveries(rows: list[tuple], now) -> None:
    """The deliveries of new notifications in one INSERT ... SELECT FROM jsonb_to_recordset: in-app ones sent now
    (one attempt), e-mail and SMS ones due now."""
    if not rows:
        return
    sent, pending = Delivery.Status.SENT, Delivery.Status.PENDING
    if not postgresql_path():
        Delivery.objects.bulk_create(
            Delivery(
                notification_id=pk,
                channel=channel,
                address=address,
                status=status,
                attempts=1 if status == sent else 0,
                sent_at=now if status == sent else None,
                next_attempt_at=now if status == pending else None,
            )
            for pk, channel, address, status in rows
        )
        return
    sql = f"""
        INSERT INTO {_table(Delivery)}
            (notification_id, channel, address, status, attempts, sent_at, next_attempt_at, last_error)
        SELECT notification_id, channel, address, status,
               CASE WHEN status = %s THEN 1 ELSE 0 END,
               CASE WHEN status = %s THEN %s::timestamptz END,
               CASE WHEN status = %s THEN %s::timestamptz END,
               ''
        FROM jsonb_to_recordset(%s::jsonb) AS page(notification_id bigint, channel text, address text, status text)
    """  # noqa: S608 - the table name from the model, values as parameters
    page = [{"notification_id": pk, "channel": channel, "address": address, "status": status}
            for pk, channel, address, status in rows]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, [sent, sent, now, pending, now, json.dumps(page)])


def _announce(notifications: list[Notification]) -> None:
    """`notification.created` on each recipient's `user.{id}` topic, in this transaction (user topics
    replace no read-cache generation: a reminder batch writes no cache entry per patient)."""
    emit_many(
        [(user_topic(n.user_id), "notification.created", notification_state(n)) for n in notifications if n.user_id]
    )


INSERT_BATCH = 500


def notifications_create(specs: list[Spec]) -> list[Notification]:
    """Create what is not there yet, with its deliveries, and announce each on its user's topic.

    Call inside a transaction (the feed cursor's or a job batch's). The unique (key, recipient_key)
    is the guard, not the look-up before it (which only saves rendering): see `_insert_new`.
    """
    specs = [spec for spec in specs if spec.user_id or spec.sms_to]
    if not specs:
        return []
    existing = _existing(specs)
    user_ids = {spec.user_id for spec in specs if spec.user_id}
    users = {
        user.pk: user
        for user in User.objects.filter(pk__in=user_ids, is_active=True).only("pk", "email", "phone_num", "fullname")
    }
    stored = {preference.user_id: preference for preference in Preference.objects.filter(user_id__in=user_ids)}
    now = timezone.now()
    templates = Templates("txt")
    candidates, seen = [], set()
    for spec in specs:
        identity = (spec.key, spec.recipient_key)
        if identity in existing or identity in seen:
            continue
        seen.add(identity)
        user = users.get(spec.user_id) if spec.user_id else None
        if spec.user_id and user is None:
            continue  # deactivated or gone: nobody to tell
        title, body = render_text(spec.event, {**spec.context, "user": user}, templates)
        notification = Notification(
            user=user,
            recipient_key=spec.recipient_key,
            key=spec.key,
            category=spec.category,
            event=spec.event,
            title=title,
            body=body,
            data=spec.data,
            sms_to=spec.sms_to,
            created_at=now,
        )
        candidates.append(notification)
    created = []
    for start in range(0, len(candidates), INSERT_BATCH):
        created += _insert_new(candidates[start : start + INSERT_BATCH], now)
    deliveries = []
    for notification in created:
        user = notification.user
        preferences = None
        if user is not None:
            preferences = preferences_of(user, stored.get(user.pk), phone=notification.sms_to)
        deliveries += _deliveries(notification, user, preferences)
    for start in range(0, len(deliveries), 3 * INSERT_BATCH):
        _insert_deliveries(deliveries[start : start + 3 * INSERT_BATCH], now)
    _announce(created)
    return created


# --- reading --------------------------------------------------------------------------------


@transaction.atomic
def notification_read(*, by: User, notification: Notification) -> Notification:
    """Mark one of the caller's notifications read (reading it again keeps the first time)."""
    now = timezone.now()
    if Notification.objects.filter(pk=notification.pk, user=by, read_at__isnull=True).update(read_at=now):
        emit_many([(user_topic(by.pk), "notification.read", {"notification_ids": [notification.pk]})])
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def notifications_read_all(*, by: User) -> int:
    unread = Notification.objects.filter(user=by, read_at__isnull=True)
    ids = list(unread.values_list("pk", flat=True))
    count = Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(read_at=timezone.now())
    if count:
        emit_many([(user_topic(by.pk), "notification.read", {"notification_ids": ids})])
    return count
