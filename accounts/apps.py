from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and activity"

    def ready(self):
        from hms.api import strict

        strict.install()
        from hms.api.readcache import model_saved_or_deleted

        post_save.connect(model_saved_or_deleted, dispatch_uid="hms.readcache.saved")
        post_delete.connect(model_saved_or_deleted, dispatch_uid="hms.readcache.deleted")
        from accounts.bootstrap import ensure_admin_account

        post_migrate.connect(ensure_admin_account, sender=self, dispatch_uid="accounts.ensure_admin_account")
