"""Drop the single-column indexes of foreign keys that a composite index already leads with.

Only the indexes go (the constraints stay, unvalidated work avoided): Django's AlterField would drop
and re-add each foreign key constraint, re-checking every row under a table lock.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, index name) as Django named them when the foreign keys were created.
INDEXES = [
    ("appointments_appointment", "doctor_id", "appointments_appointment_doctor_id_fb58c3a1"),
    ("appointments_appointment", "hospital_id", "appointments_appointment_hospital_id_b5912582"),
    ("appointments_appointment", "patient_id", "appointments_appointment_patient_id_631d13da"),
    ("appointments_appointment", "slot_id", "appointments_appointment_slot_id_4594fc33"),
    ("appointments_slot", "doctor_id", "appointments_slot_doctor_id_d2f1977c"),
    ("appointments_slot", "hospital_id", "appointments_slot_hospital_id_32f4e7b7"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0003_slot_list_covering_index"),
        ("hospitals", "0002_floor_ward_bed_admission_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in INDEXES
            ],
            state_operations=[
        migrations.AlterField(
            model_name='appointment',
            name='doctor',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to='appointments.doctor'),
        ),
        migrations.AlterField(
            model_name='appointment',
            name='hospital',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to='hospitals.hospital'),
        ),
        migrations.AlterField(
            model_name='appointment',
            name='patient',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='appointment',
            name='slot',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to='appointments.slot'),
        ),
        migrations.AlterField(
            model_name='slot',
            name='doctor',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='slots', to='appointments.doctor'),
        ),
        migrations.AlterField(
            model_name='slot',
            name='hospital',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='slots', to='hospitals.hospital'),
        ),
                ],
        ),
    ]
