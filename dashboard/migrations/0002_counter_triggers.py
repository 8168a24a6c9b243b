"""Triggers that keep the dashboard counters, and the counters' first fill from the existing rows
(PostgreSQL only; SQLite dashboards count from the tables)."""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from dashboard import counters

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(counters.install_sql())
    counters.rebuild(schema_editor.connection)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from dashboard import counters

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(counters.uninstall_sql())


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_counters"),
        ("accounts", "0005_activity_hash_chain"),
        ("hospitals", "0003_bed_type_and_reservation"),
        ("appointments", "0008_opd_queues"),
        ("bloodbank", "0002_blood_bank_low_stock_threshold"),
        ("emergency", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
