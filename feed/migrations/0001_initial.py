import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# PostgreSQL: a NOTIFY per writing statement, delivered at commit only, wakes every host's publisher
# and reader at once (they poll slowly otherwise).
NOTIFY = """
CREATE OR REPLACE FUNCTION feed_pending_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hms_feed', '');
    RETURN NULL;
END $$;
CREATE TRIGGER feed_pending_notify AFTER INSERT ON feed_pendingevent
    FOR EACH STATEMENT EXECUTE FUNCTION feed_pending_notify();
"""
DROP_NOTIFY = """
DROP TRIGGER IF EXISTS feed_pending_notify ON feed_pendingevent;
DROP FUNCTION IF EXISTS feed_pending_notify();
"""


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NOTIFY)


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_NOTIFY)


def create_state(apps, schema_editor):
    apps.get_model("feed", "FeedState").objects.get_or_create(id=1)


def _event_fields():
    return [
        ("at", models.DateTimeField(default=django.utils.timezone.now)),
        ("topic", models.CharField(max_length=100)),
        ("type", models.CharField(max_length=50)),
        ("data", models.JSONField(default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder)),
    ]


class Migration(migrations.Migration):
    initial = True

    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="PendingEvent",
            fields=[("seq", models.BigAutoField(primary_key=True, serialize=False)), *_event_fields()],
        ),
        migrations.CreateModel(
            name="Event",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False)), *_event_fields()],
            options={
                "ordering": ["id"],
                "indexes": [
                    models.Index(fields=["topic", "id"], name="feed_event_topic_id"),
                    models.Index(fields=["at"], name="feed_event_at"),
                ],
            },
        ),
        migrations.CreateModel(
            name="FeedState",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("pruned_through", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=models.Q(("id", 1)), name="feed_state_single_row")]
            },
        ),
        migrations.CreateModel(
            name="StreamTicket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("topics", models.JSONField(default=list)),
                ("token_jti", models.CharField(max_length=64)),
                ("token_expires_at", models.DateTimeField()),
                ("auth_version", models.PositiveIntegerField()),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
        ),
        migrations.RunPython(install_trigger, remove_trigger),
        migrations.RunPython(create_state, migrations.RunPython.noop),
    ]
