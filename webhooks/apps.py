from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from hms.jobs import register
        from webhooks import delivery

        register(
            "webhooks.fan_out",
            delivery.fan_out,
            every_seconds=5,
            description="Create a webhook delivery for each new feed event on a topic a webhook follows.",
        )
        register(
            "webhooks.deliver",
            delivery.deliver,
            every_seconds=5,
            description="Send due webhook deliveries (signed; retried with backoff; failing endpoints deactivated).",
        )
