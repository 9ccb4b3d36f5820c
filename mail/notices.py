"""Security notifications to the account holder (``mail.services.send``), each queued in the
transaction of the change it reports. ``user`` is any object with ``email`` and
``get_username()`` (the accounts app stands above this one); a user without an address gets
nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone

from core.request_meta import RequestMeta
from mail import services


def _when() -> str:
    return formats.date_format(timezone.localtime(), "DATETIME_FORMAT") + " UTC"


def notify(user: Any, kind: str, *, meta: RequestMeta | None = None, **context: Any) -> None:
    if not user.email:
        return
    services.send(
        to=user.email,
        kind=kind,
        context={
            "username": user.get_username(),
            "when": _when(),
            "ip": meta.ip if meta else None,
            "reset_url": settings.ISSUER_URL + reverse("selfservice:forgot"),
            **context,
        },
    )


def password_changed(user: Any, *, meta: RequestMeta | None = None) -> None:
    notify(user, "password_changed", meta=meta)
