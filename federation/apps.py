from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = "Upstream identity providers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from federation import config, hooks

        config.register()
        hooks.register()
