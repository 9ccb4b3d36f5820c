from django.apps import AppConfig
from django.core.checks import Tags, register


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor authentication"

    def ready(self) -> None:
        from accounts import session
        from mfa import checks, config, flows, policy
        from oauth import extensions

        # ``manage.py apply``: ``mfa: totp`` on users.
        config.register()
        # The sign-in page hands a right password to the second-factor step.
        if flows.after_password not in session.second_steps:
            session.second_steps.append(flows.after_password)
        # oauth's authorization endpoint, device approval and refresh apply this MFA policy.
        extensions.register_second_factor(
            extensions.SecondFactor(
                required=policy.mfa_required,
                satisfied=policy.is_multi_factor,
                step_up_url=flows.step_up_url,
                acr_values_supported=policy.ACR_VALUES_SUPPORTED,
            )
        )
        register(checks.passkey_host, Tags.security)
