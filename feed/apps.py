from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    verbose_name = "Change feed"

    def ready(self):
        from feed import topics

        topics.register_own()
