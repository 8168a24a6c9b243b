"""Creating notifications (exactly once per occurrence and recipient), reading them, and preferences."""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.template.loader import select_template
from django.utils import timezone

from accounts.models import User
from feed.emit import emit_many
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


def render_text(event: str, context: dict) -> tuple[str, str]:
    """The title (the template's first line) and the plain-text body (the rest)."""
    text = select_template(template_name(event, "txt")).render(context).strip()
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


def _deliveries(notification: Notification, user: User | None, preferences: dict | None, now) -> list[Delivery]:
    category = notification.category
    in_app = Delivery(notification=notification, channel=Channel.IN_APP)
    if user is not None:
        in_app.status, in_app.attempts, in_app.sent_at = Delivery.Status.SENT, 1, now
    else:
        in_app.status = Delivery.Status.SKIPPED
    email = Delivery(notification=notification, channel=Channel.EMAIL, status=Delivery.Status.SKIPPED)
    if user is not None and user.email and preferences["email"][category]:
        email.status, email.address, email.next_attempt_at = Delivery.Status.PENDING, user.email, now
    sms = Delivery(notification=notification, channel=Channel.SMS, status=Delivery.Status.SKIPPED)
    number = notification.sms_to or (user.phone_num if user is not None else "")
    if number and (user is None or preferences["sms"][category]):
        sms.status, sms.address, sms.next_attempt_at = Delivery.Status.PENDING, number, now
    return [in_app, email, sms]


def notification_state(notification: Notification) -> dict:
    return {
        "notification_id": notification.pk,
        "category": notification.category,
        "event": notification.event,
        "title": notification.title,
    }


_INSERT_FIELDS = ("user", "recipient_key", "key", "category", "event", "title", "body", "data", "sms_to", "created_at")


def _insert_new(notifications: list[Notification]) -> list[Notification]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING id: the rows inserted (ids set), in order.

    A row whose (key, recipient_key) exists, or is being inserted by a racing transaction (PostgreSQL
    makes this statement wait for that one's outcome), is left out: created by exactly one of them.
    """
    fields = [Notification._meta.get_field(name) for name in _INSERT_FIELDS]
    table = connection.ops.quote_name(Notification._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        field.get_db_prep_save(getattr(notification, field.attname), connection)
        for notification in notifications
        for field in fields
    ]
    # Names from the model, values as parameters.
    values = ", ".join([row] * len(notifications))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT (key, recipient_key) DO NOTHING"  # noqa: S608
    sql += " RETURNING id, key, recipient_key"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {(key, recipient): pk for pk, key, recipient in cursor.fetchall()}
    inserted = []
    for notification in notifications:
        pk = ids.get((notification.key, notification.recipient_key))
        if pk is not None:
            notification.pk = pk
            notification._state.adding, notification._state.db = False, connection.alias
            inserted.append(notification)
    return inserted


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
    is the guard, not the look-up before it: see `_insert_new`.
    """
    specs = [spec for spec in specs if spec.user_id or spec.sms_to]
    if not specs:
        return []
    existing = set(
        Notification.objects.filter(key__in={spec.key for spec in specs}).values_list("key", "recipient_key")
    )
    user_ids = {spec.user_id for spec in specs if spec.user_id}
    users = {user.pk: user for user in User.objects.filter(pk__in=user_ids, is_active=True)}
    stored = {preference.user_id: preference for preference in Preference.objects.filter(user_id__in=user_ids)}
    now = timezone.now()
    candidates, seen = [], set()
    for spec in specs:
        identity = (spec.key, spec.recipient_key)
        if identity in existing or identity in seen:
            continue
        seen.add(identity)
        user = users.get(spec.user_id) if spec.user_id else None
        if spec.user_id and user is None:
            continue  # deactivated or gone: nobody to tell
        title, body = render_text(spec.event, {**spec.context, "user": user})
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
        created += _insert_new(candidates[start : start + INSERT_BATCH])
    deliveries = []
    for notification in created:
        user = notification.user
        preferences = None
        if user is not None:
            preferences = preferences_of(user, stored.get(user.pk), phone=notification.sms_to)
        deliveries += _deliveries(notification, user, preferences, now)
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
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
