"""Registering webhooks, and the API's actions on them (API.md section 16). Nothing here sends:
deliveries are made by the `webhooks.deliver` job (webhooks/delivery.py), so an endpoint outage never
fails an API write."""

import uuid

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.activity import Action, record
from accounts.models import User
from bloodbank.models import BloodBank
from feed import reader, topics
from hms.api.exceptions import Conflict
from hms.api.permissions import role_of
from hms.api.roles import Role
from webhooks import signing
from webhooks.addresses import target_refusal
from webhooks.models import Webhook, WebhookDelivery

PING_TYPE = "webhook.ping"


def _topic_hospital(topic: topics.Topic) -> int | None:
    """The hospital a public topic belongs to (None: no hospital's)."""
    if topic.kind.template.startswith("hospital.{id}."):
        return topic.object_id
    if topic.kind.template == "bloodbank.{id}.stock":
        return BloodBank.objects.filter(pk=topic.object_id).values_list("hospital_id", flat=True).first()
    return None


def topic_refusal(user: User, name) -> tuple[str, str] | None:
    """Why `user` may not subscribe a webhook to topic `name`, as `(code, sentence)`, or None.

    Admin: any topic the feed stores. Hospital admin: its hospital's topics only, each also allowed
    by the feed's own rule for that user (the registry in feed/topics.py)."""
    try:
        topic = topics.parse(name)
    except topics.TopicRefused as refused:  # the feed's only refusal of a name: no such topic
        return "unknown_topic", refused.detail
    if topic.kind.derived:
        return "topic_not_allowed", f"'{name}' is computed per reader and cannot be sent to a webhook."
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    allowed = role == Role.HOSPITAL_ADMIN and user.hospital_id is not None and topic.kind.allows(user, topic.object_id)
    if allowed and topic.kind.public:
        allowed = _topic_hospital(topic) == user.hospital_id
    if not allowed:
        return "topic_not_allowed", f"'{name}' is not a topic of your hospital."
    return None


def _check_topics(user: User, names: list[str]) -> None:
    for name in names:
        refusal = topic_refusal(user, name)
        if refusal:
            code, detail = refusal
            raise ValidationError({"topics": [detail]}, code=code)


def _check_url(url: str) -> None:
    target = target_refusal(url)
    if isinstance(target, tuple):
        code, detail = target
        raise ValidationError({"url": [detail]}, code=code)


@transaction.atomic
def webhook_create(*, by: User, url: str, topics: list[str]) -> Webhook:
    """Register an endpoint; `webhook.secret` is the one chance the caller has to read the secret."""
    _check_url(url)
    _check_topics(by, topics)
    webhook = Webhook.objects.create(
        url=url,
        topics=topics,
        secret=signing.new_secret(),
        hospital_id=None if role_of(by) == Role.ADMIN else by.hospital_id,
        created_by=by,
        start_after_event_id=reader.position(),
    )
    record(action=Action.CREATE, actor=by, object_type="webhook", object_id=webhook.pk, detail={"topics": topics})
    return webhook


@transaction.atomic
def webhook_update(*, webhook: Webhook, by: User, data: dict) -> Webhook:
    """Change url, topics or is_active; turning it back on clears its failure run and starts it at
    the feed's current position (events from while it was off are not sent)."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if "url" in data:
        _check_url(data["url"])
    if "topics" in data:
        _check_topics(by, data["topics"])
    fields = [field for field in ("url", "topics", "is_active") if field in data]
    if data.get("is_active") and not webhook.is_active:
        webhook.failure_count, webhook.failing_since = 0, None
        webhook.start_after_event_id = reader.position()
        fields += ["failure_count", "failing_since", "start_after_event_id"]
    for field in ("url", "topics", "is_active"):
        if field in data:
            setattr(webhook, field, data[field])
    webhook.save(update_fields=[*fields, "updated_at"])
    record(action=Action.UPDATE, actor=by, object_type="webhook", object_id=webhook.pk, detail={"fields": sorted(data)})
    return webhook


@transaction.atomic
def webhook_deactivate(*, webhook: Webhook, by: User) -> None:
    """DELETE: the webhook stops receiving; it and its deliveries are kept."""
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False, updated_at=timezone.now())
    record(action=Action.DELETE, actor=by, object_type="webhook", object_id=webhook.pk)


def _refuse_inactive() -> None:
    raise Conflict("This webhook is inactive; turn it on (is_active: true) first.", code="webhook_inactive")


def _active(webhook: Webhook) -> Webhook:
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if not webhook.is_active:
        _refuse_inactive()
    return webhook


@transaction.atomic
def webhook_ping(*, webhook: Webhook, by: User) -> WebhookDelivery:
    """Queue a `webhook.ping` delivery, sent by the next `webhooks.deliver` run."""
    webhook = _active(webhook)
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event_id=None,
        message_id=f"msg_{uuid.uuid4().hex}",
        event_type=PING_TYPE,
        payload={"webhook_id": webhook.pk, "topics": webhook.topics},
        occurred_at=now,
        next_attempt_at=now,
        retry_started_at=now,
    )
    record(action=Action.ACTION, actor=by, object_type="webhook", object_id=webhook.pk, detail={"ping": delivery.pk})
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, by: User) -> WebhookDelivery:
    """Send a delivery again (the same message id, so a receiver can tell it is the same message),
    with a fresh retry window."""
    # The delivery's row first, then the webhook's (read, not locked): the order the deliver job's
    # `_record` takes them in, so the two never deadlock.
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if not Webhook.objects.filter(pk=delivery.webhook_id, is_active=True).exists():
        _refuse_inactive()
    now = timezone.now()
    delivery.status, delivery.next_attempt_at, delivery.retry_started_at = WebhookDelivery.Status.PENDING, now, now
    delivery.save(update_fields=["status", "next_attempt_at", "retry_started_at", "updated_at"])
    record(
        action=Action.ACTION,
        actor=by,
        object_type="webhook",
        object_id=delivery.webhook_id,
        detail={"redeliver": delivery.pk},
    )
    return delivery
