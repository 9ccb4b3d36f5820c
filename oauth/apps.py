from django.apps import AppConfig
from django.core.checks import Tags, register


class OauthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth 2 / OpenID Connect"

    def ready(self) -> None:
        from oauth2_provider.models import get_access_token_model

        from core import generations, metrics
        from oauth import checks, config
        from oauth.apis import GENERATION as APIS
        from oauth.metrics import observe_token
        from oauth.models import Api, Client

        # Cached client rows (oauth.selectors) follow every save and delete of a client.
        generations.bump_on_change(Client, "clients")
        # Registered APIs (oauth.apis) name their client: both kinds of change reload them.
        generations.bump_on_change(Api, APIS)
        generations.bump_on_change(Client, APIS)
        # Revocation, rotation and family or API-key revocation all delete token rows: the
        # introspection cache of token rows (oauth.introspection) follows.
        generations.bump_on_change(get_access_token_model(), "access-tokens", saves=False)
        # ``manage.py apply``: the ``clients`` and ``apis`` sections, ``resources`` on clients.
        config.register()
        register(checks.client_posture, Tags.security, deploy=True)
        # /metrics: the token endpoint's answers by grant type, client and outcome.
        metrics.OBSERVERS["token"] = observe_token
        # Back-channel logout: a browser sign-out ends its session for every client.
        from django.contrib.auth.signals import user_logged_out

        from oauth.logout import on_signed_out

        user_logged_out.connect(on_signed_out, dispatch_uid="oauth-backchannel-logout")
