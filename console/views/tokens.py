from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from console import access, selectors
from console.views.common import page_of
from core import clock
from core.request_meta import request_meta
from mgmt import selectors as mgmt_selectors
from oauth import services as oauth_services
from roles.access import acting


@access.console_view(access.TOKENS_READ)
def token_list(request: HttpRequest) -> HttpResponse:
    now = clock.utcnow()
    context = {
        "sessions": selectors.live_sessions(now),
        "client_tokens": mgmt_selectors.live_client_tokens(now),
        "page": page_of(request, selectors.live_access_tokens(now)),
    }
    return render(request, "console/tokens/list.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.TOKENS_WRITE)
def session_revoke(request: HttpRequest, family: uuid.UUID) -> HttpResponse:
    """Confirm, then end a session (its refresh-token family and the access tokens from it)."""
    member = (
        get_refresh_token_model()
        .objects.filter(token_family=family, revoked__isnull=True)
        .select_related("user", "application")
        .first()
    )
    if member is None:
        raise Http404("no live session with this id")
    if request.method == "POST":
        oauth_services.session_revoke(
            actor=acting(access.principal(request)),
            meta=request_meta(request),
            user=member.user,
            family=family,
        )
        messages.success(request, f"Session of {member.user.username} ended.")
        return redirect("console:token-list")
    context = {"kind": "session", "user": member.user, "client": member.application}
    return render(request, "console/tokens/confirm_revoke.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.TOKENS_WRITE)
def access_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(
        get_access_token_model().objects.select_related("user", "application"), pk=pk
    )
    if request.method == "POST":
        oauth_services.access_token_revoke(
            actor=acting(access.principal(request)), meta=request_meta(request), token=token
        )
        messages.success(request, f"Access token #{pk} revoked.")
        return redirect("console:token-list")
    context = {"kind": "token", "token": token, "user": token.user, "client": token.application}
    return render(request, "console/tokens/confirm_revoke.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.TOKENS_WRITE)
def client_token_revoke(request: HttpRequest, jti: str) -> HttpResponse:
    """Confirm, then revoke a client-credentials token (listed from its issue event)."""
    token = mgmt_selectors.live_client_token(clock.utcnow(), jti)
    if token is None:
        raise Http404("no live client token with this id")
    if request.method == "POST":
        oauth_services.client_token_revoke(
            actor=acting(access.principal(request)),
            meta=request_meta(request),
            jti=token.jti,
            client_id=token.client_id,
            expires=token.expires,
        )
        messages.success(request, f"Token of {token.client_id} revoked.")
        return redirect("console:token-list")
    context = {"kind": "client-token", "client_token": token}
    return render(request, "console/tokens/confirm_revoke.html", context)
