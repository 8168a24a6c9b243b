from rest_framework import serializers

from hms.api.serializers import ReadOnlyModelSerializer
from notifications.models import Delivery, Notification
from notifications.services import CATEGORIES


class DeliveryOut(ReadOnlyModelSerializer):
    class Meta:
        model = Delivery
        fields = ["channel", "status", "attempts", "sent_at"]


class NotificationOut(ReadOnlyModelSerializer):
    deliveries = DeliveryOut(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "category", "event", "title", "body", "data", "created_at", "read_at", "deliveries"]


class ReadAllOut(serializers.Serializer):
    marked = serializers.IntegerField(help_text="Notifications marked read by this call.")


def _channel_serializer(name: str, channel: str):
    fields = {category: serializers.BooleanField(required=False) for category in CATEGORIES}
    fields["Meta"] = type("Meta", (), {"ref_name": None})
    fields["__doc__"] = f"One switch per category for {channel} (true: sent)."
    return type(name, (serializers.Serializer,), fields)


EmailChoices = _channel_serializer("EmailChoices", "e-mail")
SmsChoices = _channel_serializer("SmsChoices", "SMS")


class PreferencesIn(serializers.Serializer):
    """Categories left out keep their current choice; in-app notifications cannot be turned off."""

    email = EmailChoices(required=False)
    sms = SmsChoices(required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - {"email", "sms"} if isinstance(self.initial_data, dict) else set()
        for channel in ("email", "sms"):
            given = self.initial_data.get(channel) if isinstance(self.initial_data, dict) else None
            if isinstance(given, dict):
                extra = set(given) - set(CATEGORIES)
                if extra:
                    raise serializers.ValidationError(
                        {channel: [f"Unknown categories: {', '.join(sorted(extra))}. Use {', '.join(CATEGORIES)}."]},
                        code="invalid",
                    )
        if unknown:
            raise serializers.ValidationError(
                {sorted(unknown)[0]: ["Only the channels email and sms have preferences (in_app is always on)."]},
                code="invalid",
            )
        return attrs


class PreferencesOut(serializers.Serializer):
    email = EmailChoices()
    sms = SmsChoices()
