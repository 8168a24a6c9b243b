from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard.selectors import dashboard_for
        from feed.topics import is_signed_in, register

        # Computed for each subscriber from its own figures, at most once a second after a change.
        register(
            "dashboard", public=False, allows=is_signed_in, snapshot=lambda user, _id: dashboard_for(user), derived=True
        )
