"""Creating notifications (exactly once per occurrence and recipient), reading them, and preferences."""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
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


def notifications_create(specs: list[Spec]) -> list[Notification]:
    """Create what is not there yet, with its deliveries, and announce each on its user's topic.

    Call inside a transaction (the feed cursor's or a job batch's). The unique (key, recipient_key)
    is the guard: a spec already created is skipped, and one created meanwhile by a racing worker
    makes this insert fail in its own savepoint (PostgreSQL makes it wait for the other's commit).
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
    created, deliveries, seen = [], [], set()
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
        try:
            with transaction.atomic():
                notification.save(force_insert=True)
        except IntegrityError:
            continue
        preferences = None
        if user is not None:
            preferences = preferences_of(user, stored.get(user.pk), phone=spec.sms_to)
        deliveries += _deliveries(notification, user, preferences, now)
        created.append(notification)
    Delivery.objects.bulk_create(deliveries)
    emit_many(
        [
            (user_topic(notification.user_id), "notification.created", notification_state(notification))
            for notification in created
            if notification.user_id
        ]
    )
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
