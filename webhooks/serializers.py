from rest_framework import serializers

from feed.topics import MAX_TOPICS
from webhooks.models import Webhook, WebhookDelivery

WEBHOOK_FIELDS = ["id", "url", "topics", "is_active", "failure_count", "created_at"]


class WebhookOut(serializers.ModelSerializer):
    topics = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Webhook
        fields = WEBHOOK_FIELDS
        read_only_fields = fields


class WebhookCreatedOut(WebhookOut):
    secret = serializers.CharField(
        help_text="The signing secret (`whsec_` + base64), shown only in this response: keep it."
    )

    class Meta(WebhookOut.Meta):
        fields = [*WEBHOOK_FIELDS, "secret"]
        read_only_fields = fields


class WebhookIn(serializers.Serializer):
    url = serializers.URLField(
        max_length=2000, help_text="An https URL; loopback, private and link-local hosts are refused."
    )
    topics = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=1,
        max_length=MAX_TOPICS,
        help_text="Feed topics (API.md section 15), e.g. `hospital.1.beds`.",
    )
    is_active = serializers.BooleanField(required=False, help_text="Only on update: turn the webhook off or on.")

    def validate_topics(self, value):
        return list(dict.fromkeys(value))


class WebhookDeliveryOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "status", "attempts", "response_status", "last_error", "next_attempt_at"]
        read_only_fields = fields
