"""Celery tasks of the directory app (thin wrappers over services)."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from directory import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def sync_directories_task() -> list[dict]:
    """The periodic sync (``DIRECTORY_SYNC_SECONDS``) of every directory with ``sync`` on."""
    return [vars(result) for result in services.sync_all()]
