from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "LDAP / Active Directory"

    def ready(self) -> None:
        from directory import config

        config.register()
