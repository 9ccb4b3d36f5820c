from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import config
        from accounts.models import User
        from accounts.selectors import GENERATION, WATCHED_FIELDS
        from core import generations

        # Cached user rows (accounts.selectors) follow saves that can change who is active
        # under which name (a sign-in saves last_login alone), and deletes.
        generations.bump_on_change(User, GENERATION, watched=WATCHED_FIELDS)
        # ``manage.py apply``: the ``users`` section.
        config.register()
