"""Celery tasks for the audit log (thin wrappers over services)."""

from datetime import date, timedelta

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from audit.batch import ingest_spools
from audit.retention import export_day, purge
from audit.services import seal


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def seal_audit_log_task() -> int:
    """Store what ended web processes left in the audit spool (same host), then seal."""
    ingest_spools()
    return seal()


@shared_task(autoretry_for=(DatabaseError, OSError), retry_backoff=True, max_retries=5)
def export_audit_log_task(day: str | None = None) -> str:
    """Export one UTC day (ISO date; default yesterday) to AUDIT_EXPORT_DIR."""
    when = date.fromisoformat(day) if day else (timezone.now() - timedelta(days=1)).date()
    return str(export_day(when))


@shared_task(autoretry_for=(DatabaseError, OSError), retry_backoff=True, max_retries=5)
def purge_audit_log_task() -> int:
    return purge().deleted
