"""Sign-in through an upstream provider: the start, the callback, and what the session keeps.

The start stores one pending request per ``state`` (``nonce``, PKCE verifier, where the
sign-in continues, whether a signed-in user is linking) in the session, at most
``MAX_PENDING`` of them for ``PENDING_SECONDS``; the callback takes its own out once, so a
``state`` works once and only in the browser that started it.

At the callback the identity is resolved: ``(provider, sub)`` linked before; else, with
``link_by: verified_email``, the one active user whose e-mail the upstream says is verified;
else a new user when ``provision`` is on; else nobody (the page says how to link). Then the
mapping runs (roles, profile) and our MFA policy: the mfa app's second step, unless the
provider is trusted for MFA (``trust_mfa``) and its ``amr``/``acr`` say the upstream used
several factors. ``amr`` records ``fed`` (plus the upstream's factors when trusted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from accounts.session import (
    ACR_MFA,
    ACR_PASSWORD,
    AMR_FEDERATED,
    MULTI_FACTOR_AMR,
    record_login,
    second_step,
)
from audit.models import AuditEvent
from audit.services import record
from core import clock
from core.actors import SystemActor
from core.request_meta import request_meta
from federation import services, upstream
from federation.models import IdentityProvider, LinkedIdentity

PENDING = "federation.pending"
UPSTREAM = "federation.upstream"  # the provider and ID token of this session's sign-in
PENDING_SECONDS = 600
MAX_PENDING = 5
BACKEND = "django.contrib.auth.backends.ModelBackend"
# RFC 8176 methods that, from a trusted upstream, count as its second factor; and acr values
# that say multi-factor.
MFA_METHODS = {"mfa", "hwk", "swk", "otp", "sms", "sc", "fpt", "face", "iris", "pop"}
MFA_ACRS = {
    ACR_MFA,
    "mfa",
    "phr",
    "phrh",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
}


def redirect_uri(provider: IdentityProvider) -> str:
    """The redirect URI to register at the upstream."""
    return settings.ISSUER_URL + reverse("federation:callback", args=[provider.slug])


def post_logout_uri(provider: IdentityProvider) -> str:
    return settings.ISSUER_URL + reverse("federation:logged-out", args=[provider.slug])


def begin(
    request: HttpRequest, provider: IdentityProvider, next_url: str, *, linking: bool = False
) -> str:
    """Where the browser goes to sign in at the upstream (``UpstreamError`` when it cannot)."""
    pending_request = upstream.Request.new()
    url = upstream.authorization_url(provider, pending_request, redirect_uri(provider))
    now = clock.now()
    stored = {
        state: entry
        for state, entry in (request.session.get(PENDING) or {}).items()
        if isinstance(entry, dict) and now - entry.get("at", 0) < PENDING_SECONDS
    }
    stored[pending_request.state] = {
        "provider": provider.slug,
        "nonce": pending_request.nonce,
        "verifier": pending_request.verifier,
        "next": next_url,
        "link": request.user.pk if linking else None,
        "at": now,
    }
    request.session[PENDING] = dict(list(stored.items())[-MAX_PENDING:])
    return url


class Refused(Exception):
    """The callback does not sign anyone in; ``reason`` (audited) picks the page's message."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Pending:
    request: upstream.Request
    next_url: str
    linking_user: int | None


def take_pending(request: HttpRequest, provider: IdentityProvider, state: str) -> Pending:
    """The pending request of ``state`` (removed from the session), or ``Refused``."""
    stored = dict(request.session.get(PENDING) or {})
    entry = stored.pop(state, None) if state else None
    request.session[PENDING] = stored
    if (
        not isinstance(entry, dict)
        or entry.get("provider") != provider.slug
        or clock.now() - entry.get("at", 0) >= PENDING_SECONDS
    ):
        raise Refused("state")
    return Pending(
        upstream.Request(state, entry["nonce"], entry["verifier"]),
        entry.get("next") or "",
        entry.get("link"),
    )


def audit_refused(
    request: HttpRequest, provider: IdentityProvider, reason: str, **data: Any
) -> None:
    """A callback that signed nobody in, audited with why."""
    record(
        "federation.login",
        target=provider.slug,
        outcome=AuditEvent.Outcome.FAILURE,
        request=request,
        reason=reason,
        **data,
    )


def complete(
    request: HttpRequest, provider: IdentityProvider, pending: Pending, code: str
) -> upstream.Identity:
    """Exchange the code and validate what the upstream says (``Refused`` otherwise)."""
    try:
        tokens = upstream.exchange(provider, pending.request, code, redirect_uri(provider))
        return upstream.identity(provider, tokens, pending.request.nonce)
    except upstream.UpstreamError as exc:
        audit_refused(request, provider, "upstream", detail=str(exc)[:500])
        raise Refused("upstream", status=502) from exc


def link_current_user(
    request: HttpRequest, provider: IdentityProvider, identity: upstream.Identity
) -> None:
    """The signed-in user asked to link this provider from their page."""
    try:
        services.link(
            actor=SystemActor(request.user.username),
            meta=request_meta(request),
            provider=provider,
            user=request.user,
            identity=identity,
            how="account",
        )
    except services.LinkRefused as exc:
        audit_refused(request, provider, "link", detail=str(exc))
        raise Refused("link", status=409) from exc


def _resolve(
    request: HttpRequest, provider: IdentityProvider, identity: upstream.Identity
) -> LinkedIdentity:
    linked = (
        LinkedIdentity.objects.select_related("user")
        .filter(provider=provider, subject=identity.subject)
        .first()
    )
    if linked is not None:
        return linked
    meta = request_meta(request)
    if (
        provider.link_by == IdentityProvider.LinkBy.VERIFIED_EMAIL
        and identity.email_verified
        and identity.email
    ):
        users = list(User.objects.filter(email__iexact=identity.email, is_active=True)[:2])
        if len(users) == 1:
            try:
                return services.link(
                    actor=services.provider_actor(provider),
                    meta=meta,
                    provider=provider,
                    user=users[0],
                    identity=identity,
                    how="verified_email",
                )
            except services.LinkRefused as exc:
                audit_refused(request, provider, "link", detail=str(exc))
                raise Refused("link", status=409) from exc
    if provider.provision:
        user = services.provision(meta=meta, provider=provider, identity=identity)
        return LinkedIdentity.objects.select_related("user").get(provider=provider, user=user)
    raise Refused("not_linked", status=403)


def _trusted_factors(provider: IdentityProvider, claims: dict[str, Any]) -> list[str] | None:
    """The upstream's factors when it is trusted for MFA and used several; else None."""
    if not provider.trust_mfa:
        return None
    amr = [a for a in claims.get("amr") or [] if isinstance(a, str)]
    if MFA_METHODS & set(amr) or claims.get("acr") in MFA_ACRS:
        return [a for a in amr if a in MFA_METHODS and a != MULTI_FACTOR_AMR]
    return None


def sign_in(
    request: HttpRequest,
    provider: IdentityProvider,
    pending: Pending,
    identity: upstream.Identity,
) -> str | None:
    """Resolve, map and sign the user in; the second-factor step's URL when one is due (None:
    signed in). ``Refused`` when nobody may sign in."""
    with transaction.atomic():
        linked = _resolve(request, provider, identity)
        user = linked.user
        if not user.is_active:
            raise Refused("inactive", status=403)
        services.apply_claims(
            meta=request_meta(request), provider=provider, linked=linked, identity=identity
        )
    user.refresh_from_db()
    trusted = _trusted_factors(provider, identity.claims)
    upstream_session = {
        "provider": provider.slug,
        "id_token": identity.id_token,
        "logout_origin": upstream.end_session_origin(provider),
    }
    if trusted is None:
        user.backend = BACKEND
        step = second_step(request, user, pending.next_url, first=(AMR_FEDERATED,))
        if step is not None:
            request.session[UPSTREAM] = upstream_session
            return step
        amr, acr = [AMR_FEDERATED], ACR_PASSWORD
    else:
        amr, acr = list(dict.fromkeys([AMR_FEDERATED, *trusted, MULTI_FACTOR_AMR])), ACR_MFA
    login(request, user, backend=BACKEND)
    record_login(request, amr=amr, acr=acr)
    request.session[UPSTREAM] = upstream_session
    record("login", actor=user.username, request=request, amr=amr, provider=provider.slug)
    return None


def upstream_logout(request: HttpRequest) -> str | None:
    """Before this session ends: the upstream's RP-initiated logout URL, if it has one."""
    stored = request.session.get(UPSTREAM)
    if not isinstance(stored, dict):
        return None
    provider = IdentityProvider.objects.filter(slug=stored.get("provider"), enabled=True).first()
    if provider is None:
        return None
    url = upstream.logout_url(
        provider, str(stored.get("id_token") or ""), post_logout_uri(provider)
    )
    return url or None
