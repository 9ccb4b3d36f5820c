from django.apps import AppConfig
from django.core.checks import Tags, register


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core infrastructure"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import checks

        # The deployment's settings and backends (--deploy), and the shared limits (always).
        register(checks.security_posture, Tags.security, deploy=True)
        register(checks.shared_limits, Tags.security, Tags.caches)
