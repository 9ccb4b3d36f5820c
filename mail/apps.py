from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from mail import tasks

        # The embedded mode sends a request's mail after its response (mail.tasks.dispatch).
        request_started.connect(tasks.request_started, dispatch_uid="mail.request_started")
        request_finished.connect(tasks.request_finished, dispatch_uid="mail.request_finished")
