from django.apps import AppConfig
from django.core.checks import Tags, register


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor authentication"

    def ready(self) -> None:
        from accounts import session
        from mfa import checks, config, flows

        # ``manage.py apply``: ``mfa: totp`` on users.
        config.register()
        # The sign-in page hands a right password to the second-factor step.
        if flows.after_password not in session.second_steps:
            session.second_steps.append(flows.after_password)
        register(checks.passkey_host, Tags.security)
