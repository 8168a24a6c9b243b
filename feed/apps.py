from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    verbose_name = "Change feed"

    def ready(self):
        import feed.jobs  # noqa: F401 - registers the app's job (@jobs.job)
        from feed import topics

        topics.register_own()
