from django.apps import AppConfig


class EmergencyConfig(AppConfig):
    name = "emergency"

    def ready(self):
        from emergency.topics import register_topics

        register_topics()
