"""Triggers that keep the dashboard counters, and the counters' first fill from the existing rows
(PostgreSQL only; SQLite dashboards count from the tables)."""

from django.db import migrations

from hms.management.counters import install_counters


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_counters"),
        ("accounts", "0005_activity_hash_chain"),
        ("hospitals", "0003_bed_type_and_reservation"),
        ("appointments", "0008_opd_queues"),
        ("bloodbank", "0002_blood_bank_low_stock_threshold"),
        ("emergency", "0001_initial"),
    ]

    operations = [install_counters("dashboard.counters")]
