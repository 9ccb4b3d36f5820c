"""Celery tasks for OAuth housekeeping (thin wrappers over oauth.maintenance)."""

from celery import shared_task
from django.db import DatabaseError

from oauth.maintenance import expired_clear


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def clear_expired_tokens_task() -> int:
    return expired_clear().auth_contexts
