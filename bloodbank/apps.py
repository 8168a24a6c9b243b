from django.apps import AppConfig


class BloodbankConfig(AppConfig):
    name = "bloodbank"

    def ready(self):
        from bloodbank.jobs import register_jobs
        from bloodbank.topics import register_topics

        register_topics()
        register_jobs()
