from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor authentication"

    def ready(self) -> None:
        from accounts import session
        from mfa import config, flows

        # ``manage.py apply``: ``mfa: totp`` on users.
        config.register()
        # The sign-in page hands a right password to the second-factor step.
        if flows.after_password not in session.second_steps:
            session.second_steps.append(flows.after_password)
