from django.apps import AppConfig


class HospitalsConfig(AppConfig):
    name = "hospitals"

    def ready(self):
        from hospitals.topics import register_topics

        register_topics()
