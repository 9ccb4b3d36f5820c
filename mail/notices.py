"""Security notifications to the account holder (``mail.services.send``), each queued in the
transaction of the change it reports. ``user`` is any object with ``pk``, ``email`` and
``get_username()`` (the accounts app stands above this one); a user without an address gets
nothing.

- ``password_changed``: by the holder, a reset link or an administrator;
- ``factor_added`` / ``factor_removed``: an authenticator app or passkey (an administrator's
  reset too);
- ``signed_in``: a sign-in from a device and network not seen before for this user (the
  browser's user agent without version numbers, so an update is not a new device, and the
  client address's /24 (IPv4) or /48 (IPv6)); the user's very first sign-in is only recorded;
- ``email_changed``: to the old address, once a change was confirmed from the new one;
- ``account_locked``: sign-in paused after too many wrong passwords or codes, at most once an
  hour per user (an attacker cannot flood the mailbox).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from core import limits
from core.crypto import keyed_hash
from core.request_meta import RequestMeta
from mail import services
from mail.models import KnownOrigin

log = logging.getLogger(__name__)
LOCKED_NOTICE_SECONDS = 3600
_VERSIONS = re.compile(r"[0-9][0-9._]*")
FACTORS = {
    "totp": _("an authenticator app"),
    "webauthn": _("a passkey"),
    "all": _("every second factor"),
}


def _when() -> str:
    return formats.date_format(timezone.localtime(), "DATETIME_FORMAT") + " UTC"


def notify(
    user: Any, kind: str, *, meta: RequestMeta | None = None, to: str = "", **context: Any
) -> None:
    """Send ``kind`` to the user's address (or ``to``)."""
    if not (to or user.email):
        return
    services.send(
        to=to or user.email,
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


def email_changed(user: Any, *, old: str, meta: RequestMeta | None = None) -> None:
    """To the old address: the account's address is now ``user.email``."""
    notify(user, "email_changed", meta=meta, to=old, email=user.email)


def factor_added(user: Any, factor: str, *, meta: RequestMeta | None = None) -> None:
    notify(user, "factor_changed", meta=meta, factor=FACTORS.get(factor, factor), added=True)


def factor_removed(user: Any, factor: str, *, meta: RequestMeta | None = None) -> None:
    notify(user, "factor_changed", meta=meta, factor=FACTORS.get(factor, factor), added=False)


def account_locked(user: Any, *, seconds: int, meta: RequestMeta | None = None) -> None:
    try:
        due = limits.first(f"notice:locked:{user.pk}", LOCKED_NOTICE_SECONDS)
    except Exception:  # the cache is down: the lock holds, only its notice is skipped
        log.warning("no lock notice for user %s: the cache is unavailable", user.pk)
        return
    if due:
        notify(user, "account_locked", meta=meta, minutes=max(1, round(seconds / 60)))


def _origin(meta: RequestMeta) -> str:
    agent = _VERSIONS.sub("", meta.user_agent or "")
    try:
        address = ipaddress.ip_address(meta.ip or "")
    except ValueError:
        network = "-"
    else:
        prefix = 24 if address.version == 4 else 48
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return f"{agent}|{network}"


def signed_in(user: Any, *, meta: RequestMeta) -> None:
    """Record where ``user`` signed in from; tell them when it is a new device or network."""
    now = timezone.now()
    origin = keyed_hash(_origin(meta), "sign-in-origin")
    known = KnownOrigin.objects.filter(user_id=user.pk)
    if known.filter(origin_hash=origin).update(last_seen=now):
        return
    first_ever = not known.exists()
    _, created = KnownOrigin.objects.get_or_create(user_id=user.pk, origin_hash=origin)
    if created and not first_ever:
        notify(user, "new_sign_in", meta=meta, agent=(meta.user_agent or "")[:200])
