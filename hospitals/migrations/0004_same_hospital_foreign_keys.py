"""A row's hospital is its parent's, held by the database too (PostgreSQL; the services keep it anyway).

Beds, wards and admissions store their hospital again (availability and every scoped list filter on it
without a join): a bed's hospital is its ward's, a ward's is its floor's, an admission's is its bed's.
The services and the admin keep that; these composite foreign keys are the backstop a raw UPDATE or a
future code path cannot get around: `(ward_id, hospital_id)` must be a ward's `(id, hospital_id)`, and
so on, which needs a UNIQUE `(id, hospital_id)` on each parent (an id is unique alone: this only names
the pair). A ward without a floor (single-level hospital) is not checked (MATCH SIMPLE: a NULL
`floor_id` passes). Not deferrable: the statement that breaks the rule fails, as the bed and admission
check constraints do, and the exception handler answers its IntegrityError with a 409.

PostgreSQL only: SQLite (`make run`) cannot add a constraint to an existing table, and its foreign
keys are declared by Django. The models' state does not change (Django cannot declare a composite
foreign key), so `makemigrations` sees nothing.
"""

from django.db import migrations

# (table, constraint, columns, referenced table, its unique pair's name)
SAME_HOSPITAL = [
    ("hospitals_ward", "ward_floor_of_its_hospital", "floor_id", "hospitals_floor", "floor_id_hospital_unique"),
    ("hospitals_bed", "bed_ward_of_its_hospital", "ward_id", "hospitals_ward", "ward_id_hospital_unique"),
    ("hospitals_admission", "admission_bed_of_its_hospital", "bed_id", "hospitals_bed", "bed_id_hospital_unique"),
]


def _forward_sql() -> list[str]:
    statements = [
        f'ALTER TABLE "{parent}" ADD CONSTRAINT "{unique}" UNIQUE ("id", "hospital_id")'
        for _table, _name, _column, parent, unique in SAME_HOSPITAL
    ]
    statements += [
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ("{column}", "hospital_id") '
        f'REFERENCES "{parent}" ("id", "hospital_id")'
        for table, name, column, parent, _unique in SAME_HOSPITAL
    ]
    return statements


def _reverse_sql() -> list[str]:
    statements = [f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"' for table, name, *_ in SAME_HOSPITAL]
    statements += [f'ALTER TABLE "{parent}" DROP CONSTRAINT "{unique}"' for *_, parent, unique in SAME_HOSPITAL]
    return statements


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL on PostgreSQL; nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("hospitals", "0003_bed_type_and_reservation"),
    ]

    operations = [PostgreSQLOnly(sql=_forward_sql(), reverse_sql=_reverse_sql())]
