"""Activity object ids are integers (API.md: ids are integers). Pre-release: the column is recreated."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_cache_table")]

    operations = [
        migrations.RemoveField(model_name="activity", name="object_id"),
        migrations.AddField(
            model_name="activity", name="object_id", field=models.PositiveBigIntegerField(blank=True, null=True)
        ),
    ]
