"""Celery tasks of the outbox (thin wrappers over ``mail.delivery``): acknowledged after they
ran, retried with exponential backoff while the server is unreachable or refuses for now, and
idempotent (a redelivered task finds the row sent and does nothing).

``dispatch`` hands a queued message to a worker. The embedded mode has no worker (tasks run
eagerly); there a message queued while a request is served is sent once its response has gone
out (Django's ``request_finished``, which the WSGI server sends after the last byte), so a page
that sends mail answers as fast as one that does not (the password reset must not tell by its
timing whether an address exists); outside a request (a command) it is sent at once. A message
whose send was lost (a process killed, a broker flushed) is found by ``flush_outbox_task``
(beat, every 5 minutes) and sent then.
"""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from mail import delivery

log = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(*delivery.TRANSIENT, DatabaseError),
    retry_backoff=True,
    retry_backoff_max=settings.TASK_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=10,
)
def send_task(message_id: str) -> bool:
    """Send the outbox row ``message_id`` once; whether this run sent it."""
    return delivery.deliver(message_id)


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def flush_outbox_task() -> int:
    """Send the messages whose send was lost; how many."""
    pending = delivery.lost()
    for pk in pending:
        dispatch(pk)
    return len(pending)


# The messages to send once the current response is out (None: not serving a request).
_after_response: ContextVar[list[uuid.UUID] | None] = ContextVar(
    "mail_after_response", default=None
)


def dispatch(pk: uuid.UUID) -> None:
    if not send_task.app.conf.task_always_eager:
        send_task.delay(str(pk))
        return
    pending = _after_response.get()
    if pending is not None:
        pending.append(pk)
    else:
        _deliver_now(pk)


def request_started(**kwargs: object) -> None:
    _after_response.set([])


def request_finished(**kwargs: object) -> None:
    pending = _after_response.get()
    _after_response.set(None)
    for pk in pending or ():
        _deliver_now(pk)


def _deliver_now(pk: uuid.UUID) -> None:
    try:
        delivery.deliver(pk)
    except Exception:  # logged by deliver; flush_outbox_task tries again
        log.exception("mail %s not sent", pk)
