from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from appointments import services
from appointments.models import MAX_GENERATE_DAYS, OpdSchedule


class Command(BaseCommand):
    help = (
        "Create the slots of every active OPD schedule for the next N days (today included, each hospital's "
        "local date). Idempotent: existing and past slots are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14, help=f"1..{MAX_GENERATE_DAYS} (default 14).")

    def handle(self, *args, days: int, **options):
        if not 1 <= days <= MAX_GENERATE_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_GENERATE_DAYS}.")
        schedules = OpdSchedule.objects.filter(is_active=True, hospital__is_active=True).select_related("hospital")
        created = skipped = count = 0
        for schedule in schedules.order_by("id").iterator():
            today = timezone.now().astimezone(ZoneInfo(schedule.hospital.timezone)).date()
            result = services.slots_generate(
                by=None, schedule=schedule, from_date=today, to_date=today + timedelta(days=days - 1)
            )
            created, skipped, count = created + result["created"], skipped + result["skipped"], count + 1
        self.stdout.write(f"{count} schedules: {created} slots created, {skipped} skipped.")
