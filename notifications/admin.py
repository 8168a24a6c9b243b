from django.contrib import admin

from hms.admin import ReadOnlyAdmin, ReadOnlyInline
from notifications.models import Delivery, FeedCursor, Notification, Preference


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["channel", "address", "status", "attempts", "sent_at", "next_attempt_at", "last_error"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "event", "category", "recipient_key", "title", "read_at"]
    list_filter = ["category", "event"]
    search_fields = ["title", "recipient_key", "key", "user__username"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Failed deliveries can be retried: the action sets them pending and due now."""

    list_display = ["id", "notification", "channel", "address", "status", "attempts", "sent_at", "next_attempt_at"]
    list_filter = ["status", "channel"]
    search_fields = ["address", "notification__title"]
    raw_id_fields = ["notification"]
    actions = ["retry"]

    @admin.action(description="Retry the selected deliveries now")
    def retry(self, request, queryset):
        from django.utils import timezone

        count = queryset.exclude(status__in=[Delivery.Status.SENT, Delivery.Status.SKIPPED]).update(
            status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
        )
        self.message_user(request, f"{count} deliveries will be retried.")


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "email", "sms"]
    raw_id_fields = ["user"]


@admin.register(FeedCursor)
class FeedCursorAdmin(ReadOnlyAdmin):
    list_display = ["name", "position", "updated_at"]
