from django.apps import AppConfig
from django.core.checks import Tags, register


class RolesConfig(AppConfig):
    name = "roles"
    verbose_name = "Roles and permissions"

    def ready(self) -> None:
        from oauth import extensions, introspection, tokens
        from roles import checks, config, group_config, hooks, selectors

        if hooks.access_token_claims not in tokens.claim_providers:
            tokens.claim_providers.append(hooks.access_token_claims)
        if hooks.introspection_members not in introspection.enrichers:
            introspection.enrichers.append(hooks.introspection_members)
        if selectors.expired_since not in introspection.staleness_checks:
            introspection.staleness_checks.append(selectors.expired_since)
        # The ``roles`` claim of ID tokens and userinfo (the ``roles`` scope).
        extensions.user_claims["roles"] = selectors.user_roles
        config.register()
        group_config.register()
        register(checks.role_posture, Tags.security, deploy=True)
