"""OpenID Connect Back-Channel Logout 1.0: when a sign-in session ends here, every client that
registered a ``backchannel_logout_uri`` and was signed into through that session gets a signed
logout token (§2.4: ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``sub``, ``sid``, the logout
``events`` member, no ``nonce``; ``typ: logout+jwt``), posted as ``logout_token`` (§2.5).

Sessions end when the person signs out (``/accounts/logout/``, RP-initiated logout), when an
operator or the person ends an app session (``oauth.services.session_revoke``), and when all of
a user's sessions end (disabled, password reset: ``oauth.services.user_sessions_end``). Each
notice owed is a ``LogoutNotice`` row written in the transaction that ended the session; once
it commits, a Celery task posts it through the guarded fetcher (``core.fetch.fetch`` with a form),
retried with backoff; the row keeps the outcome, which the console shows per client.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core import clock, fetch
from oauth import tokens
from oauth.models import AuthContext, Client, LogoutNotice

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120
RESPONSE_MAX_BYTES = 16 * 1024


def sessions_ended(contexts: QuerySet[AuthContext]) -> list[LogoutNotice]:
    """Owe a logout token to each client with a back-channel URI signed into through the
    sign-in sessions of ``contexts`` (once per client and session; ``oauth.logout`` queues
    them once the transaction commits)."""
    seen: set[tuple[int, str]] = set()
    notices = []
    rows = contexts.exclude(client__backchannel_logout_uri="").select_related("client")
    for context in rows.only("user_id", "sid", "client"):
        key = (context.client_id, context.sid)
        if key in seen or (context.client.backchannel_logout_session_required and not context.sid):
            continue
        seen.add(key)
        notices.append(
            LogoutNotice(client=context.client, sub=str(context.user_id), sid=context.sid)
        )
    return LogoutNotice.objects.bulk_create(notices)


def logout_token(client: Client, *, sub: str, sid: str) -> str:
    now = int(clock.now())
    claims = {
        "iss": settings.ISSUER_URL,
        "aud": client.client_id,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": sub,
        "events": {EVENT: {}},
    }
    if sid:
        claims["sid"] = sid
    return tokens.sign(claims, algorithm=client.id_token_signed_response_alg, typ="logout+jwt")


class Undelivered(Exception):
    """The client did not take the logout token (retried by the task)."""


def deliver(notice_id: int) -> bool:
    """Post the notice's logout token; True once delivered (again: a no-op), ``Undelivered``
    when the client's endpoint failed. A notice whose client is gone or has no URI any more is
    dropped."""
    notice = LogoutNotice.objects.select_related("client").filter(pk=notice_id).first()
    if notice is None or notice.delivered_at is not None:
        return True
    uri = notice.client.backchannel_logout_uri
    if not uri:
        notice.delete()
        return True
    token = logout_token(notice.client, sub=notice.sub, sid=notice.sid)
    notice.attempts += 1
    try:
        fetch.fetch(uri, form={"logout_token": token}, accept="*/*", max_bytes=RESPONSE_MAX_BYTES)
    except fetch.FetchError as exc:
        notice.last_error = str(exc)[:300]
        notice.save(update_fields=["attempts", "last_error"])
        log.info("back-channel logout to %s failed: %s", notice.client.client_id, exc)
        raise Undelivered(str(exc)) from exc
    notice.delivered_at = timezone.now()
    notice.last_error = ""
    notice.save(update_fields=["attempts", "delivered_at", "last_error"])
    return True


def given_up(notice_id: int) -> None:
    """The retries are spent: the notice is marked failed (the console lists it)."""
    LogoutNotice.objects.filter(pk=notice_id, delivered_at=None).update(failed_at=timezone.now())


def recent(client: Client, *, limit: int = 5) -> list[LogoutNotice]:
    """The client's latest notices (the console's client page)."""
    return list(LogoutNotice.objects.filter(client=client).order_by("-created_at")[:limit])
