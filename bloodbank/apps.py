from django.apps import AppConfig


class BloodbankConfig(AppConfig):
    name = "bloodbank"

    def ready(self):
        import bloodbank.jobs  # noqa: F401 - registers the app's jobs (@jobs.job)
        from bloodbank.topics import register_topics

        register_topics()
