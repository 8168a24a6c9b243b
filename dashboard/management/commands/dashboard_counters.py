"""Look after the dashboard counters (PostgreSQL): compare them with a recount, fold deltas, rebuild."""

from dashboard import figures, selectors
from hms.management.counters import CountersCommand
from hospitals.models import Hospital


def differences() -> list[str]:
    """Every dashboard figure the counters give that a plain recount of the tables does not."""
    found = []
    pairs = [("admin", selectors.counted_admin_dashboard(), selectors.live_admin_dashboard())]
    pairs += [
        (
            f"hospital {hospital.pk}",
            selectors.counted_hospital_admin_dashboard(hospital),
            selectors.live_hospital_admin_dashboard(hospital),
        )
        for hospital in Hospital.objects.order_by("pk")
    ]
    for name, counted, live in pairs:
        found += [
            f"{name} {figure}: counters {counted.get(figure)} != recount {value}"
            for figure, value in live.items()
            if counted.get(figure) != value
        ]
    return found


class Command(CountersCommand):
    help = "Check the dashboard counters against a recount (default), fold their deltas, or rebuild them."
    counters, without_postgresql = "the dashboard counters", "SQLite dashboards count live"
    module = "dashboard.counters"  # install_sql(), rebuild(); the fold and the recount are the figures'

    def fold(self) -> dict:
        return figures.fold()

    def differences(self) -> list[str]:
        return differences()
