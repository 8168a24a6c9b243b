"""What the maintained counters (PostgreSQL) share: the migration step that installs a counters module's
triggers and fills it, and the command shape: check them against a recount (the default; exit 1 on a
difference), `--fold`, `--rebuild`, `--install` (re-create the triggers, then rebuild: after restoring
a dump made without them). Each app's command names its own hooks."""

import importlib

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, migrations


def install_counters(module_name: str) -> migrations.RunPython:
    """The migration step for a counters module (`module_name`, e.g. "dashboard.counters", giving
    `install_sql()`, `uninstall_sql()` and `rebuild(connection)`): its triggers, then a first fill from
    the existing rows; reversed, the triggers dropped. PostgreSQL only: elsewhere the figures are
    counted from the tables."""

    def install(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        counters = importlib.import_module(module_name)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(counters.install_sql())
        counters.rebuild(schema_editor.connection)

    def uninstall(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(importlib.import_module(module_name).uninstall_sql())

    return migrations.RunPython(install, uninstall)


class CountersCommand(BaseCommand):
    counters = "the counters"  # what the messages call them
    without_postgresql = ""  # what SQLite does instead, for the refusal

    def install_sql(self) -> str:
        raise NotImplementedError

    def rebuild(self) -> None:
        raise NotImplementedError

    def fold(self) -> dict:
        raise NotImplementedError

    def differences(self) -> list[str]:
        """A line for each figure the counters give that a plain recount does not."""
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument(
            "--install", action="store_true", help="(re)create the counting triggers, then rebuild the counters"
        )
        parser.add_argument("--rebuild", action="store_true", help="recount every counter from the tables")
        parser.add_argument("--fold", action="store_true", help="fold the counters' rows")

    def handle(self, *args, install=False, rebuild=False, fold=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError(f"{self.counters.capitalize()} exist on PostgreSQL only ({self.without_postgresql}).")
        if install:
            with connection.cursor() as cursor:
                cursor.execute(self.install_sql())
            self.stdout.write("triggers installed")
        if rebuild or install:
            self.rebuild()
            self.stdout.write("rebuilt")
        if fold:
            self.stdout.write(f"folded: {self.fold()}")
        if not (install or rebuild or fold):
            found = self.differences()
            for line in found:
                self.stdout.write(line)
            if found:
                raise CommandError(f"{len(found)} figures differ from a recount; run with --rebuild.")
            self.stdout.write("counters match a recount")
