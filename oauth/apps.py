from django.apps import AppConfig
from django.db.models.signals import post_delete


def _access_token_deleted(**kwargs: object) -> None:
    """Revocation, rotation and family or API-key revocation all delete token rows: tell every
    process's introspection cache (``oauth.introspection``)."""
    from oauth import generations

    generations.bump("access-tokens")


class OauthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth 2 / OpenID Connect"

    def ready(self) -> None:
        from oauth2_provider.models import get_access_token_model

        from authserver import checks  # noqa: F401  (registers the security posture checks)

        post_delete.connect(
            _access_token_deleted,
            sender=get_access_token_model(),
            dispatch_uid="oauth.access_token_deleted",
        )
