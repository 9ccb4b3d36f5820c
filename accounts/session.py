"""What the browser session remembers about how its user signed in.

``auth_state`` is read by the authorization endpoint and copied into the token family, so
``auth_time``, ``amr``, ``acr`` and ``sid`` in tokens describe the real sign-in.
``factor_time`` is when the session's user last proved a second factor (at a multi-factor
sign-in, or at a re-verification that signs nobody in again); privilege changes ask for it to
be recent (``second_factor_time``, checked by ``roles.access.require_fresh_factor``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from core import clock
from core.request_meta import request_meta
from mail import notices

SESSION_KEY = "authserver.auth"
MULTI_FACTOR_AMR = "mfa"  # RFC 8176
# ``acr`` levels of assurance: a password alone, or multi-factor (mfa.policy decides when the
# second is required).
ACR_PASSWORD = "1"
ACR_MFA = "2"

# ``amr`` of the first step: a password here, or an upstream identity provider (federation).
AMR_PASSWORD = "pwd"
AMR_FEDERATED = "fed"
FIRST_FACTORS = (AMR_PASSWORD, AMR_FEDERATED)

# What follows a right first step (a password, an upstream provider's answer) before anyone is
# signed in: callables (request, user, the URL the sign-in continues to, keyword ``first``: the
# first step's ``amr``) -> where the user goes for a second step, or None when none is due.
# Registered from ``ready()`` by the app that owns the step (mfa: the second factor); with
# none due the first step alone signs in (``acr`` 1).
second_steps: list[Callable[..., str | None]] = []


def second_step(
    request: HttpRequest, user: Any, next_url: str, *, first: tuple[str, ...] = (AMR_PASSWORD,)
) -> str | None:
    """Where the first registered step that is due sends the user, or None."""
    for step in second_steps:
        url = step(request, user, next_url, first=first)
        if url is not None:
            return url
    return None


def record_login(request: HttpRequest, *, amr: list[str], acr: str) -> None:
    """Call right after ``django.contrib.auth.login`` (which rotated the session key)."""
    now = int(clock.now())
    state = {"auth_time": now, "amr": amr, "acr": acr, "sid": secrets.token_urlsafe(16)}
    if MULTI_FACTOR_AMR in amr:
        state["factor_time"] = now
    request.session[SESSION_KEY] = state
    # A device or network not seen before for this user is reported to them by mail.
    notices.signed_in(request.user, meta=request_meta(request))


def record_second_factor(request: HttpRequest) -> None:
    """The signed-in user just proved their second factor again (no new sign-in)."""
    state = dict(auth_state(request) or {})
    state["factor_time"] = int(clock.now())
    request.session[SESSION_KEY] = state


def second_factor_time(request: HttpRequest) -> int | None:
    """When (UNIX time) the session's user last proved a second factor (None: never)."""
    when = (auth_state(request) or {}).get("factor_time")
    return when if isinstance(when, int) else None


def auth_state(request: HttpRequest) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return state if isinstance(state, dict) else None
