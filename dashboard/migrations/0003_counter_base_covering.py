"""The dashboard's counter rows read from the index alone (PostgreSQL; SQLite keeps no counters).

The rows a dashboard reads are spread over the table, one heap page each, and fetching those pages was
most of the read's cost: counter_base_key's index now carries `n` too (INCLUDE; the same unique key, so
the fold's ON CONFLICT still finds it), and the table is vacuumed after every thousand changed rows (a
fold changes some), which keeps its pages marked all-visible so that the read need not visit them.
Django's state keeps the plain constraint: a covering one would be dropped on SQLite with a warning.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE dashboard_counterbase DROP CONSTRAINT counter_base_key,"
    " ADD CONSTRAINT counter_base_key UNIQUE (metric, scope, bucket, key) INCLUDE (n)",
    "ALTER TABLE dashboard_counterbase SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,"
    " autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000)",
]
BACKWARD = [
    "ALTER TABLE dashboard_counterbase DROP CONSTRAINT counter_base_key,"
    " ADD CONSTRAINT counter_base_key UNIQUE (metric, scope, bucket, key)",
    "ALTER TABLE dashboard_counterbase RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,"
    " autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold)",
]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_counter_triggers"),
    ]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD))]
