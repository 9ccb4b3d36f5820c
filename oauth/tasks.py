"""Celery tasks of the oauth app (thin wrappers over oauth.maintenance and oauth.backchannel)."""

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from oauth import backchannel
from oauth.maintenance import expired_clear

LOGOUT_RETRIES = 5


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def clear_expired_tokens_task() -> int:
    return expired_clear().auth_contexts


@shared_task(bind=True, acks_late=True, max_retries=LOGOUT_RETRIES)
def deliver_logout_task(self, notice_id: int) -> bool:  # noqa: ANN001 (Celery's bound task)
    """Post one back-channel logout token; retried with exponential backoff (bounded by
    ``TASK_RETRY_BACKOFF_MAX``) while the client's endpoint fails, then marked failed. Running
    it again after delivery does nothing. Without a worker (the embedded mode runs tasks in
    the request), one attempt: a request never waits on retries."""
    try:
        return backchannel.deliver(notice_id)
    except (backchannel.Undelivered, DatabaseError) as exc:
        if self.request.is_eager or self.request.retries >= LOGOUT_RETRIES:
            backchannel.given_up(notice_id)
            return False
        countdown = min(2**self.request.retries * 5, settings.TASK_RETRY_BACKOFF_MAX)
        raise self.retry(exc=exc, countdown=countdown) from exc
