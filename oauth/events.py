"""Audit events of the OAuth endpoints, through ``audit.services.record``.

The ones every token request makes (issued, refreshed, revoked, refused, introspection callers
refused) are deferred: stored in batches after the response (``audit.batch``) so they add no
write to the request; a detected refresh-token reuse is stored at once.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.models import AuditEvent
from audit.services import record
from oauth import tokens
from oauth.models import GRANT_REFRESH_TOKEN
from oauth.outcome import TokenOutcome


def _client_id(request: Any) -> str:
    client = getattr(request, "client", None)
    return client.client_id if client is not None else str(getattr(request, "client_id", ""))


def token_issued(token: dict[str, Any], request: Any) -> None:
    """A token response was saved (oauthlib request: client, user, grant type)."""
    claims = getattr(request, "access_token_claims", None)
    if claims is None:  # not minted by oauth.tokens in this request
        claims = tokens.unverified_claims(token.get("access_token", "")) or {}
    client_id = _client_id(request)
    user = getattr(request, "user", None)
    username = user.get_username() if user is not None else None
    record(
        "token.refreshed" if request.grant_type == GRANT_REFRESH_TOKEN else "token.issued",
        actor=username or client_id,
        target=f"user:{username}" if username else f"client:{client_id}",
        client_id=client_id,
        request=request,
        deferred=True,
        grant_type=request.grant_type,
        scope=token.get("scope", ""),
        jti=claims.get("jti"),
        exp=claims.get("exp"),
        with_refresh="refresh_token" in token,
    )


def refresh_token_reused(refresh: Any, request: Any) -> None:
    """A rotated-out refresh token came back: DOT has revoked its whole family."""
    record(
        "token.reuse_detected",
        actor=_client_id(request),
        target=f"user:{refresh.user.get_username()}" if refresh.user else "",
        outcome=AuditEvent.Outcome.DENIED,
        client_id=_client_id(request),
        request=request,
        family=str(refresh.token_family or ""),
    )


def token_revocation(token_type_hint: str | None, request: Any) -> None:
    """An authenticated RFC 7009 request (what it named stays secret; unknown tokens get 200)."""
    record(
        "token.revoked",
        actor=_client_id(request),
        client_id=_client_id(request),
        request=request,
        deferred=True,
        via="rfc7009",
        type_hint=token_type_hint or "",
    )


def token_refused(request: HttpRequest, outcome: TokenOutcome, client_id: str) -> None:
    """A token request answered with an OAuth error other than failed client authentication."""
    record(
        "token.refused",
        actor=client_id,
        outcome=AuditEvent.Outcome.FAILURE,
        client_id=client_id,
        request=request,
        deferred=True,
        grant_type=outcome.grant_type[:100],
        error=outcome.error[:64],
        status=outcome.status,
    )


def introspection_refused(request: HttpRequest, client_id: str) -> None:
    record(
        "introspection.denied",
        actor=client_id,
        outcome=AuditEvent.Outcome.DENIED,
        client_id=client_id,
        request=request,
        deferred=True,
        reason="client authentication failed",
    )
