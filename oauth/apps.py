from django.apps import AppConfig


class OauthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth 2 / OpenID Connect"

    def ready(self) -> None:
        from authserver import checks  # noqa: F401  (registers the security posture checks)
