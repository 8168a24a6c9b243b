from django.core.management.base import BaseCommand

from bloodbank.services import stock_expire


class Command(BaseCommand):
    help = "Mark available stock lots whose expiry date is today or earlier as expired (safe to run any time)."

    def handle(self, *args, **options):
        count = stock_expire()
        self.stdout.write(f"Marked {count} stock lot{'s' if count != 1 else ''} as expired.")
