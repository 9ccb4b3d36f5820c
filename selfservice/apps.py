from django.apps import AppConfig


class SelfserviceConfig(AppConfig):
    name = "selfservice"
    verbose_name = "Account self-service"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from selfservice import sessions

        # Every sign-in (password, second factor, setup) records its browser session.
        user_logged_in.connect(sessions.on_login, dispatch_uid="selfservice.sessions.on_login")
