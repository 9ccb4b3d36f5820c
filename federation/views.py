"""Browser pages of upstream sign-in: the start, the callback, the upstream's return after
logout, and the signed-in user's linked providers (``/account/providers/``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.actors import SystemActor
from core.request_meta import request_meta
from federation import flows, selectors, services, upstream
from federation.models import IdentityProvider

ACCOUNT_PAGE = "federation:account"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _refused(
    request: HttpRequest, provider: IdentityProvider | None, refusal: flows.Refused
) -> HttpResponse:
    messages = {
        "state": _("This sign-in link has expired or was already used. Start the sign-in again."),
        "upstream": _("The sign-in at %(name)s could not be completed. Try again in a moment."),
        "denied": _("The sign-in at %(name)s was cancelled or refused."),
        "not_linked": _(
            "No account here is linked to your %(name)s account. Sign in with your password "
            "and link %(name)s on your account page."
        ),
        "inactive": _("This account is disabled."),
        "link": _(
            "This %(name)s account is linked to another account here, or this account already "
            "has another %(name)s account linked."
        ),
        "unknown": _("There is no such sign-in provider."),
    }
    name = provider.name if provider is not None else ""
    detail = messages.get(refusal.reason, messages["upstream"]) % {"name": name}
    context = {"title": _("Sign-in failed"), "detail": detail}
    return render(request, "federation/refused.html", context, status=refusal.status)


@never_cache
@require_GET
def start(request: HttpRequest, slug: str) -> HttpResponse:
    """``/accounts/login/<slug>/?next=``: off to the upstream's authorization endpoint."""
    provider = selectors.enabled_provider(slug)
    if provider is None:
        return _refused(request, None, flows.Refused("unknown", status=404))
    next_url = _safe_next(request, request.GET.get("next"))
    try:
        return HttpResponseRedirect(flows.begin(request, provider, next_url))
    except upstream.UpstreamError as exc:
        flows.audit_refused(request, provider, "upstream", detail=str(exc)[:500])
        return _refused(request, provider, flows.Refused("upstream", status=502))


@never_cache
@require_GET
def callback(request: HttpRequest, slug: str) -> HttpResponse:
    """``/accounts/login/<slug>/callback/``: the upstream's answer."""
    provider = selectors.enabled_provider(slug)
    if provider is None:
        return _refused(request, None, flows.Refused("unknown", status=404))
    try:
        pending = flows.take_pending(request, provider, request.GET.get("state", ""))
        if request.GET.get("error") or not request.GET.get("code"):
            error = request.GET.get("error", "no_code")[:100]
            flows.audit_refused(request, provider, "denied", error=error)
            raise flows.Refused("denied", status=403)
        identity = flows.complete(request, provider, pending, request.GET["code"])
        if pending.linking_user is not None:
            if request.user.pk != pending.linking_user:
                raise flows.Refused("state")
            flows.link_current_user(request, provider, identity)
            return HttpResponseRedirect(reverse(ACCOUNT_PAGE))
        step = flows.sign_in(request, provider, pending, identity)
    except flows.Refused as refusal:
        if refusal.reason == "state":
            flows.audit_refused(request, provider, "state")
        elif refusal.reason in ("not_linked", "inactive"):
            flows.audit_refused(request, provider, refusal.reason)
        return _refused(request, provider, refusal)
    if step is not None:
        return HttpResponseRedirect(step)
    return HttpResponseRedirect(_safe_next(request, pending.next_url) or reverse(ACCOUNT_PAGE))


@never_cache
def logged_out(request: HttpRequest, slug: str) -> HttpResponse:
    """Where the upstream sends the browser back after its own logout."""
    return render(request, "registration/logged_out.html")


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's providers: linked ones (with unlink), the others (with link)."""
    linked = selectors.links_of(request.user)
    linked_slugs = {link.provider.slug for link in linked}
    others = [p for p in selectors.enabled_providers() if p.slug not in linked_slugs]
    return render(
        request,
        "federation/account.html",
        {"linked": linked, "others": others, "error": request.GET.get("error") == "1"},
    )


@never_cache
@login_required
@require_POST
def account_link(request: HttpRequest, slug: str) -> HttpResponse:
    provider = selectors.enabled_provider(slug)
    if provider is None:
        return _refused(request, None, flows.Refused("unknown", status=404))
    try:
        url = flows.begin(request, provider, reverse(ACCOUNT_PAGE), linking=True)
    except upstream.UpstreamError:
        return _refused(request, provider, flows.Refused("upstream", status=502))
    return HttpResponseRedirect(url)


@never_cache
@login_required
@require_POST
def account_unlink(request: HttpRequest, slug: str) -> HttpResponse:
    linked = next((x for x in selectors.links_of(request.user) if x.provider.slug == slug), None)
    if linked is not None:
        try:
            services.unlink(
                actor=SystemActor(request.user.username), meta=request_meta(request), linked=linked
            )
        except services.LinkRefused:
            return HttpResponseRedirect(reverse(ACCOUNT_PAGE) + "?error=1")
    return HttpResponseRedirect(reverse(ACCOUNT_PAGE))
