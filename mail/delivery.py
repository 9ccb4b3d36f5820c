"""Sending one outbox row, once: the row is locked while it is sent and marked sent in the
same transaction, so a task delivered twice (a worker lost after the send, ``acks_late``) or
two tasks for one message send it once. The ``Message-ID`` header is the row's id, so even a
send whose mark was lost (the database gone between SMTP's answer and the commit) reaches the
recipient's mail system as a duplicate of the same message."""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from core.crypto import decrypt
from mail.models import Message

log = logging.getLogger(__name__)
# What a send may fail with and is retried for (the server unreachable, refusing for now).
TRANSIENT = (smtplib.SMTPException, OSError)
LOST_AFTER = timedelta(minutes=15)
KEEP_SENT = timedelta(days=30)


def message_id(row: Message) -> str:
    return f"<{row.pk}@{urlsplit(settings.ISSUER_URL).hostname or 'localhost'}>"


def build(row: Message) -> EmailMultiAlternatives:
    content = json.loads(decrypt(row.content))
    email = EmailMultiAlternatives(
        subject=content["subject"],
        body=content["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to],
        headers={"Message-ID": message_id(row), "Auto-Submitted": "auto-generated"},
    )
    email.attach_alternative(content["html"], "text/html")
    return email


def deliver(pk: uuid.UUID | str) -> bool:
    """Send the message ``pk`` unless it was sent; whether this call sent it. A transient
    failure is recorded on the row (``attempts``, ``last_error``) and raised for the task to
    retry."""
    failure: Exception | None = None
    with transaction.atomic():
        row = Message.objects.select_for_update().filter(pk=pk).first()
        if row is None or row.sent_at is not None:
            return False
        row.attempts += 1
        try:
            build(row).send(fail_silently=False)
        except TRANSIENT as exc:
            failure = exc
            row.last_error = f"{type(exc).__name__}: {exc}"[:255]
            log.warning("mail %s to %s not sent: %s", row.pk, row.to, row.last_error)
        else:
            row.sent_at = timezone.now()
            row.content = ""
            row.last_error = ""
        row.save(update_fields=["attempts", "last_error", "sent_at", "content"])
    if failure is not None:
        raise failure
    return True


def lost(*, now: datetime | None = None) -> list[uuid.UUID]:
    """The messages still unsent ``LOST_AFTER`` after they were queued (their task was lost
    with a broker or a thread); sent rows older than ``KEEP_SENT`` are deleted meanwhile."""
    now = now or timezone.now()
    Message.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    unsent = Message.objects.filter(sent_at=None, created_at__lt=now - LOST_AFTER)
    return list(unsent.values_list("pk", flat=True)[:500])
