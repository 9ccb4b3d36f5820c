"""Celery tasks of the abuse response (thin wrappers over services): idempotent, acknowledged
after they ran, retried with exponential backoff while the database is unavailable (a wait
bounded by ``TASK_RETRY_BACKOFF_MAX``, which the broker's visibility timeout allows for)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from abuse import services


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=settings.TASK_RETRY_BACKOFF_MAX,
    max_retries=8,
)
def block_ip_task(ip: str, failures: int = 0, accounts: int = 0) -> int | None:
    """Block ``ip`` (no-op when already blocked or allow-listed); the block's id."""
    result = services.ip_block_auto(ip=ip, failures=failures, accounts=accounts)
    return result.block.pk if result is not None else None


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def purge_ip_blocks_task() -> int:
    return services.ip_blocks_purge()
