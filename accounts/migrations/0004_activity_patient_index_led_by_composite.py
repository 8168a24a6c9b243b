"""Drop the single-column index of Activity.patient: activity_patient_at (patient, -at) leads with it.

Only the index goes; the foreign key constraint stays (AlterField would drop and re-add it, checking
every row of the audit table again).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "accounts_activity_patient_id_f80a2175"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_activity_object_id_integer"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "accounts_activity" ("patient_id")',
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="activity",
                    name="patient",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                )
            ],
        )
    ]
