"""Look after the dashboard counters (PostgreSQL): compare them with a recount, fold deltas, rebuild."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from dashboard import counters, figures, selectors
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


class Command(BaseCommand):
    help = "Check the dashboard counters against a recount (default), fold their deltas, or rebuild them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--install", action="store_true", help="(re)create the counting triggers, then rebuild the counters"
        )
        parser.add_argument("--rebuild", action="store_true", help="recount every counter from the tables")
        parser.add_argument("--fold", action="store_true", help="fold the deltas into the base rows")

    def handle(self, *args, install=False, rebuild=False, fold=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The dashboard counters exist on PostgreSQL only (SQLite dashboards count live).")
        if install:
            with connection.cursor() as cursor:
                cursor.execute(counters.install_sql())
            self.stdout.write("triggers installed")
        if rebuild or install:
            counters.rebuild()
            self.stdout.write("rebuilt")
        if fold:
            self.stdout.write(f"folded: {figures.fold()}")
        if not (install or rebuild or fold):
            found = differences()
            for line in found:
                self.stdout.write(line)
            if found:
                raise CommandError(f"{len(found)} figures differ from a recount; run with --rebuild.")
            self.stdout.write("counters match a recount")
