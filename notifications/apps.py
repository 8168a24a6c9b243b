from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from hms.api.readcache import model_topics
        from hms.jobs import register
        from notifications import delivery, sources
        from notifications.models import Delivery, FeedCursor, LowStockState, Notification, Preference

        # No cached read shows notifications: their writes leave every cached page in place.
        for model in (Notification, Delivery, Preference, FeedCursor, LowStockState):
            model_topics(model, lambda row: [])

        register(
            "notifications.from_feed",
            sources.from_feed,
            every_seconds=5,
            description="Turn committed change-feed events into notifications (bookings, blood requests, ...).",
        )
        register(
            "notifications.reminders",
            sources.reminders,
            every_seconds=60,
            description="Remind patients of booked appointments REMINDER_HOURS before the start.",
        )
        register(
            "notifications.donors_eligible",
            sources.donors_eligible,
            every_seconds=3600,
            description="Tell donors when they may give whole blood again.",
        )
        register(
            "notifications.deliver",
            delivery.deliver,
            every_seconds=10,
            description="Send due e-mail and SMS deliveries; retry failures with backoff.",
        )
