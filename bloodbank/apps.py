from django.apps import AppConfig


class BloodbankConfig(AppConfig):
    name = "bloodbank"

    def ready(self):
        from bloodbank.topics import register_topics

        register_topics()
