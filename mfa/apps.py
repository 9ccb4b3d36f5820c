from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor authentication"

    def ready(self) -> None:
        from mfa import config

        # ``manage.py apply``: ``mfa: totp`` on users.
        config.register()
