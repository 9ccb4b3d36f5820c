"""Mail to people: ``send`` renders a message (branded, in the active language, plain text and
HTML), stores it in the outbox (``mail.models.Message``) in the caller's transaction and, once
that commits, hands it to ``mail.tasks.dispatch``.

Templates: ``mail/<kind>_subject.txt``, ``mail/<kind>.txt`` and ``mail/<kind>.html`` (which
extends ``mail/base.html``), given the caller's context plus ``brand`` (``branding``'s name,
colour and logo as an absolute URL) and ``issuer``.

"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from branding import selectors as branding
from core.crypto import encrypt
from mail import tasks
from mail.models import Message


def _absolute(url: str) -> str:
    return f"{settings.ISSUER_URL}{url}" if url.startswith("/") else url


def render(kind: str, context: dict[str, Any]) -> dict[str, str]:
    """The subject, text and HTML of a ``kind`` message (in the active language)."""
    brand = branding.current()
    full = {
        **context,
        "brand": brand,
        "logo_url": _absolute(brand.logo_url) if brand.logo_url else "",
        "issuer": settings.ISSUER_URL,
    }
    subject = render_to_string(f"mail/{kind}_subject.txt", full)
    return {
        "subject": " ".join(subject.split()),
        "text": render_to_string(f"mail/{kind}.txt", full),
        "html": render_to_string(f"mail/{kind}.html", full),
    }


def send(*, to: str, kind: str, context: dict[str, Any]) -> Message:
    """Queue a ``kind`` message to ``to``; sent after the current transaction commits."""
    content = render(kind, context)
    row = Message.objects.create(kind=kind, to=to, content=encrypt(json.dumps(content).encode()))
    # robust: a broker that cannot take the task does not fail the committed change; the row
    # stays unsent and flush_outbox_task sends it later.
    transaction.on_commit(lambda: tasks.dispatch(row.pk), robust=True)
    return row
