"""What the maintained counters (PostgreSQL) share: the migration step that installs a counters module's
triggers and fills it, the layout of counting triggers, and the command shape: check them against a
recount (the default; exit 1 on a difference), `--fold`, `--rebuild`, `--install` (re-create the
triggers, then rebuild: after restoring a dump made without them). Each app's command names its
counters module and overrides what that module does not give."""

import importlib

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, migrations, transaction


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


TRIGGER_KINDS = ("changed", "inserted", "deleted")


def counting_triggers_sql(table: str, name: str, *, app: str, when_changed: str, bodies: dict[str, str]) -> str:
    """The trigger functions and triggers that keep counters from the rows of `table`, one layout for all:
    `<name>_changed`, a row trigger after updates, fired only `when_changed` (an SQL condition on OLD and
    NEW); `<name>_inserted` and `<name>_deleted`, statement triggers after inserts and deletes that see
    the statement's rows as the transition tables `inserted` and `deleted` (a bulk write is counted in
    one pass). `bodies` maps each kind to its PL/pgSQL statements; the functions are `<app>_<name>_<kind>`."""
    functions = "".join(
        f"CREATE OR REPLACE FUNCTION {app}_{name}_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{bodies[kind]}\n    RETURN NULL;\nEND $$;\n"
        for kind in TRIGGER_KINDS
    )
    return f"""{functions}DROP TRIGGER IF EXISTS {name}_changed ON {table};
CREATE TRIGGER {name}_changed AFTER UPDATE ON {table} FOR EACH ROW
    WHEN ({when_changed}) EXECUTE FUNCTION {app}_{name}_changed();
DROP TRIGGER IF EXISTS {name}_inserted ON {table};
CREATE TRIGGER {name}_inserted AFTER INSERT ON {table} REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION {app}_{name}_inserted();
DROP TRIGGER IF EXISTS {name}_deleted ON {table};
CREATE TRIGGER {name}_deleted AFTER DELETE ON {table} REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION {app}_{name}_deleted();
"""


def drop_counting_triggers_sql(table: str, name: str, *, app: str) -> str:
    """What `counting_triggers_sql` made, dropped."""
    return "\n".join(
        [
            *(f"DROP TRIGGER IF EXISTS {name}_{kind} ON {table};" for kind in TRIGGER_KINDS),
            *(f"DROP FUNCTION IF EXISTS {app}_{name}_{kind}();" for kind in TRIGGER_KINDS),
        ]
    )


def recount(connection, *, counted: str, counts: str, fill: str) -> None:
    """Empty the counters table `counts` and `fill` it again (an INSERT ... SELECT from `counted`), with
    `counted` locked against writes (SHARE mode) meanwhile, so no change lands between the two."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {counted} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {counts}")  # noqa: S608 - a table name of the counters modules
        cursor.execute(fill)


class CountersCommand(BaseCommand):
    counters = "the counters"  # what the messages call them
    without_postgresql = ""  # what SQLite does instead, for the refusal
    # The counters module (e.g. "appointments.slot_counts"): `install_sql()`, `rebuild(connection)`,
    # `fold_now()` and `differences(connection)`. A command overrides the methods below for what its
    # module does not give.
    module = ""

    def _module(self):
        return importlib.import_module(self.module)

    def install_sql(self) -> str:
        return self._module().install_sql()

    def rebuild(self) -> None:
        self._module().rebuild(connection)

    def fold(self) -> dict:
        return self._module().fold_now()

    def differences(self) -> list[str]:
        """A line for each figure the counters give that a plain recount does not."""
        return self._module().differences(connection)

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
