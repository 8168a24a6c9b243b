from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard.selectors import dashboard_for
        from feed.topics import is_signed_in, register
        from hms import jobs

        # Computed for each subscriber from its own figures, at most once a second after a change.
        register(
            "dashboard", public=False, allows=is_signed_in, snapshot=lambda user, _id: dashboard_for(user), derived=True
        )
        jobs.register(
            "dashboard.fold_counters",
            fold_counters,
            every_seconds=60,
            description="The dashboard counters' deltas (appended by triggers on every change) are summed into "
            "their base rows, so a dashboard reads a bounded number of rows (PostgreSQL).",
        )


def fold_counters() -> dict:
    from django.db import connection

    from dashboard.figures import fold

    if connection.vendor != "postgresql":
        return {"skipped": "the counters exist on PostgreSQL only"}
    return fold()
