from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.models import User
        from accounts.selectors import user_changed

        post_save.connect(user_changed, sender=User, dispatch_uid="accounts.users.saved")
        post_delete.connect(user_changed, sender=User, dispatch_uid="accounts.users.deleted")
