from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "branding"
    verbose_name = "Branding and languages"

    def ready(self) -> None:
        from branding import checks, config  # noqa: F401  (checks registers itself)
        from branding.models import Brand
        from branding.selectors import GENERATION
        from core import generations

        # The cached brand (branding.selectors) follows every save of the row.
        generations.bump_on_change(Brand, GENERATION)

        # ``manage.py apply``: the ``branding`` section.
        config.register()
