"""Look after the free-slot counters (PostgreSQL): compare them with a recount, fold their rows, rebuild."""

from django.db import DEFAULT_DB_ALIAS, connection
from django.utils import timezone

from appointments import slot_counts
from appointments.models import Slot
from hms.management.counters import CountersCommand
from hospitals.models import Hospital


class Command(CountersCommand):
    help = "Check the free-slot counters against a recount (default), fold their rows, or rebuild them."
    counters, without_postgresql = "the free-slot counters", "SQLite counts the slots"

    def install_sql(self) -> str:
        return slot_counts.install_sql()

    def rebuild(self) -> None:
        slot_counts.rebuild(connection)

    def fold(self) -> dict:
        return slot_counts.fold_now()

    def differences(self) -> list[str]:
        """Every hospital whose bookable-slot count from the counters a plain count does not give."""
        now = timezone.now()
        found = []
        for hospital_id in Hospital.objects.order_by("pk").values_list("pk", flat=True):
            counted = slot_counts.bookable_count(hospital_id, now, alias=DEFAULT_DB_ALIAS)
            live = Slot.objects.filter(Slot.objects.bookable_q(now), hospital_id=hospital_id).count()
            if counted != live:
                found.append(f"hospital {hospital_id}: counters {counted} != recount {live}")
        return found
