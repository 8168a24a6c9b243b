"""`manage.py verify_audit`: recompute the audit log's hash chains; exit 1 at the first broken link."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounts import audit_chain


class Command(BaseCommand):
    help = "Recompute the audit log's hash chains and report the first broken link (exit status 1)."

    def add_arguments(self, parser):
        parser.add_argument("--heads", action="store_true", help="Also print each chain's head (an anchor to keep).")

    def handle(self, *args, heads=False, **options):
        result = audit_chain.verify()
        if heads:
            result["heads"] = audit_chain.heads()
        self.stdout.write(json.dumps(result, default=str, indent=2))
        if result["ok"] is False:
            broken = result["first_broken"]
            raise CommandError(
                f"Audit chain {broken['chain']} breaks at position {broken['position']} "
                f"(entry {broken['id']}): {broken['problem']}."
            )
