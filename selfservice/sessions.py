"""Recording browser sessions for the account page: created at sign-in, last seen at most once
a minute per session (a mark in the shared cache says it was seen lately, so other requests
write nothing).

``user_logged_in`` marks the request (``on_login``); ``SessionActivityMiddleware`` creates the
row once the view is done, when the sign-in context (``accounts.session``: its ``sid``) is in
the session, and otherwise refreshes ``last_seen`` and the address of a known session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.session import auth_state
from core.request_meta import request_meta
from selfservice.models import BrowserSession

SEEN_EVERY = 60  # seconds: how often last_seen may be written per session
_SIGNED_IN = "_selfservice_signed_in"


def on_login(sender: Any, request: HttpRequest | None = None, user: Any = None, **_: Any) -> None:
    """``user_logged_in``: remember who signed in on this request (the row is made after the
    view, when the session carries the sign-in context)."""
    if request is not None and user is not None:
        setattr(request, _SIGNED_IN, user)


def _seen_key(session_key: str) -> str:
    return "selfservice:seen:" + hashlib.sha256(session_key.encode()).hexdigest()


def _record(request: HttpRequest, user: Any, key: str) -> None:
    """The browser session ``key`` of ``user`` begins now (its Django row exists: the key was
    made by ``cycle_key`` at sign-in, which saves it)."""
    if not Session.objects.filter(pk=key).exists():  # a session engine without rows
        return
    meta = request_meta(request)
    now = timezone.now()
    BrowserSession.objects.update_or_create(
        session_id=key,
        defaults={
            "user": user,
            "sid": str((auth_state(request) or {}).get("sid", ""))[:64],
            "ip": meta.ip,
            "user_agent": meta.user_agent[:512],
            "created_at": now,
            "last_seen": now,
        },
    )
    cache.set(_seen_key(key), 1, SEEN_EVERY)


def _seen(request: HttpRequest, key: str) -> None:
    user_id = request.session.get(SESSION_KEY)
    if user_id is None or cache.get(_seen_key(key)) is not None:
        return
    cache.set(_seen_key(key), 1, SEEN_EVERY)
    BrowserSession.objects.filter(session_id=key, user_id=user_id).update(
        last_seen=timezone.now(), ip=request_meta(request).ip
    )


def rekeyed(old: BrowserSession | None, request: HttpRequest) -> None:
    """The current session's key was rotated (``update_session_auth_hash`` after a password
    change): its row, gone with the old key, carries on under the new one (``cycle_key`` has
    already saved the new key's Django row)."""
    key = request.session.session_key
    if old is None or not key:
        return
    old.session_id = key
    old.save(force_insert=True)


class SessionActivityMiddleware:
    """After ``AuthenticationMiddleware``: records sign-ins and when sessions were last seen."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        # Only requests that used the session (a page that knows who is signed in): a machine
        # endpoint or a static answer costs nothing; an outage answers as the view did.
        if not key or not session.accessed or response.status_code >= 500:
            return response
        user = getattr(request, _SIGNED_IN, None)
        try:
            if user is not None:
                _record(request, user, key)
            else:
                _seen(request, key)
        except DatabaseError:  # last seen is best effort; the view's answer stands
            pass
        return response
