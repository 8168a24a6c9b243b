"""Webhooks in the Django admin: endpoints editable (never deleted: deactivate), deliveries shown."""

from django.contrib import admin

from hms.admin import NoDeleteAdmin, ReadOnlyAdmin
from webhooks.models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(NoDeleteAdmin):
    list_display = ["id", "url", "is_active", "failure_count", "failing_since", "hospital", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url"]
    list_select_related = ["hospital"]
    exclude = ["secret"]  # shown once, to whoever registered the webhook
    readonly_fields = ["failure_count", "failing_since", "start_after_event_id", "created_by",
                       "created_at", "updated_at"]  # fmt: skip
    raw_id_fields = ["hospital"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "webhook", "event_id", "event_type", "status", "attempts", "response_status",
                    "next_attempt_at", "delivered_at"]  # fmt: skip
    list_filter = ["status", "event_type"]
    search_fields = ["message_id"]
    list_select_related = ["webhook"]
