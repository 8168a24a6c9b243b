from django.core.management.base import BaseCommand, CommandError

from appointments.jobs import generate_rolling_slots
from appointments.models import MAX_GENERATE_DAYS


class Command(BaseCommand):
    help = (
        "Create the slots of every active OPD schedule for the next N days (today included, each hospital's "
        "local date). Idempotent: existing and past slots are skipped. The job appointments.rolling_slots "
        "does the same every hour for OPD_ROLLING_DAYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14, help=f"1..{MAX_GENERATE_DAYS} (default 14).")

    def handle(self, *args, days: int, **options):
        if not 1 <= days <= MAX_GENERATE_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_GENERATE_DAYS}.")
        result = generate_rolling_slots(days=days)
        self.stdout.write(
            f"{result['schedules']} schedules: {result['created']} slots created, {result['skipped']} skipped."
        )
