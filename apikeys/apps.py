from django.apps import AppConfig
from django.core.checks import Tags, register


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import checks, config, credentials, exchange, hooks
        from apikeys.models import ApiKeyRole
        from oauth import introspection, server, validators
        from roles import decisions
        from roles import selectors as role_selectors

        introspection.introspectors[credentials.PREFIX] = hooks.introspect_key
        decisions.credential_resolvers[credentials.PREFIX] = hooks.principal_for_key
        server.extension_grants[exchange.GRANT_TYPE] = exchange.TokenExchangeGrant
        if hooks.revoke_key not in validators.revokers:
            validators.revokers.append(hooks.revoke_key)
        if hooks.exchanged_token_grant not in decisions.claim_grants:
            decisions.claim_grants.append(hooks.exchanged_token_grant)
        if ApiKeyRole not in role_selectors.assignment_models:
            # a key's expiring role makes cached answers stale like any other assignment's
            role_selectors.assignment_models.append(ApiKeyRole)
        config.register()
        register(checks.key_posture, Tags.security, deploy=True)
