from django.apps import AppConfig
from django.core.signals import request_finished


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import batch

        request_finished.connect(batch.flush_if_due, dispatch_uid="audit.batch.flush_if_due")
