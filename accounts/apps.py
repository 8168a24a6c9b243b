from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and activity"

    def ready(self):
        import accounts.jobs  # noqa: F401 - registers the app's job (@jobs.job)
        from accounts import signing_keys
        from accounts.bootstrap import ensure_admin_account

        signing_keys.install()
        post_migrate.connect(ensure_admin_account, sender=self, dispatch_uid="accounts.ensure_admin_account")
