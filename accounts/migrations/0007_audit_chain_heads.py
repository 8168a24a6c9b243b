"""Every hash chain's head from the start (accounts/audit_chain.py).

Heads used to be made on first use: until all CHAINS existed, a writer that found the existing ones
taken made or waited for its backend's own chain (pid % CHAINS), shared with any other backend of the
same remainder. With every head in place, a writer waits only when CHAINS transactions write at once."""

from django.db import migrations

CHAINS = 32  # accounts.audit_chain.CHAINS when this migration was written


def make_heads(apps, schema_editor):
    head = apps.get_model("accounts", "AuditChainHead")
    head.objects.using(schema_editor.connection.alias).bulk_create(
        [head(chain=chain, seq=0, hash="") for chain in range(CHAINS)], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_login_failure_windows")]

    operations = [migrations.RunPython(make_heads, migrations.RunPython.noop)]
