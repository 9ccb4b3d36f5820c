from django.apps import AppConfig


class SetupConfig(AppConfig):
    name = "setup"
    verbose_name = "First administrator"
    default_auto_field = "django.db.models.BigAutoField"
