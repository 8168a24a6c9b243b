from django.conf import settings
from django.core.management.base import BaseCommand

from feed import reader


class Command(BaseCommand):
    help = "Delete change-feed events older than EVENTS_RETENTION_HOURS (a replay from before them gets `reset`)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=None, help="Keep this many hours instead.")

    def handle(self, *args, hours=None, **options):
        deleted = reader.prune(hours=settings.EVENTS_RETENTION_HOURS if hours is None else hours)
        self.stdout.write(f"Pruned {deleted} events.")
