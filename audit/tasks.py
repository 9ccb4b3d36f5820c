"""Celery tasks for the audit log (thin wrappers over services)."""

from celery import shared_task

from audit.services import seal


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def seal_audit_log_task() -> int:
    return seal()
