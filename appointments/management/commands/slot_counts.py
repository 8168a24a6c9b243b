"""Look after the free-slot counters (PostgreSQL): compare them with a recount, fold their rows, rebuild."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connection
from django.utils import timezone

from appointments import slot_counts
from appointments.models import Slot
from hospitals.models import Hospital


def differences() -> list[str]:
    """Every hospital whose bookable-slot count from the counters a plain count of the slots does not give."""
    now = timezone.now()
    found = []
    for hospital_id in Hospital.objects.order_by("pk").values_list("pk", flat=True):
        counted = slot_counts.bookable_count(hospital_id, now, alias=DEFAULT_DB_ALIAS)
        live = Slot.objects.filter(Slot.objects.bookable_q(now), hospital_id=hospital_id).count()
        if counted != live:
            found.append(f"hospital {hospital_id}: counters {counted} != recount {live}")
    return found


class Command(BaseCommand):
    help = "Check the free-slot counters against a recount (default), fold their rows, or rebuild them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--install", action="store_true", help="(re)create the counting triggers, then rebuild the counters"
        )
        parser.add_argument("--rebuild", action="store_true", help="recount the counters from the slots")
        parser.add_argument("--fold", action="store_true", help="sum each key's rows into one")

    def handle(self, *args, install=False, rebuild=False, fold=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The free-slot counters exist on PostgreSQL only (SQLite counts the slots).")
        if install:
            with connection.cursor() as cursor:
                cursor.execute(slot_counts.install_sql())
            self.stdout.write("triggers installed")
        if rebuild or install:
            slot_counts.rebuild(connection)
            self.stdout.write("rebuilt")
        if fold:
            self.stdout.write(f"folded: {slot_counts.fold_now()}")
        if not (install or rebuild or fold):
            found = differences()
            for line in found:
                self.stdout.write(line)
            if found:
                raise CommandError(f"{len(found)} hospitals' counts differ from a recount; run with --rebuild.")
            self.stdout.write("counters match a recount")
