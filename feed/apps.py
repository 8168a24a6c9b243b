from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    verbose_name = "Change feed"

    def ready(self):
        from feed import topics
        from feed.jobs import register_jobs

        topics.register_own()
        register_jobs()
