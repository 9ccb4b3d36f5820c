"""Re-authentication before a sensitive action: prove the second factor again, then go back."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods

from console import access
from console.forms import ReauthForm
from mfa import flows
from mfa import selectors as mfa_selectors


def _back(request: HttpRequest) -> str:
    """Where to return: a console page of this site, else the dashboard."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    console = reverse("console:dashboard")
    safe = url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()})
    return candidate if safe and candidate.startswith(console) else console


@require_http_methods(["GET", "POST"])
@access.console_view()
def reauth(request: HttpRequest) -> HttpResponse:
    back = _back(request)
    form = ReauthForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        result = flows.reverify_code(request, form.cleaned_data["code"])
        if result.ok:
            messages.success(request, "Second factor confirmed. You can continue.")
            return redirect(back)
        form.add_error("code", result.error)
        status = result.status if result.status != 200 else 400
    user = request.user
    context = {
        "form": form,
        "next": back,
        "has_totp": mfa_selectors.totp_of(user) is not None,
        "has_recovery_codes": mfa_selectors.recovery_codes_of(user) is not None,
        # Passkeys need the browser's WebAuthn ceremony: the second-factor page runs it (a
        # step-up there also refreshes the proof) and comes back here.
        "passkey_url": (
            f"{reverse('mfa:authenticate')}?{urlencode({'next': back})}"
            if mfa_selectors.passkeys_of(user)
            else ""
        ),
        "minutes": max(1, settings.CONSOLE_REAUTH_SECONDS // 60),
    }
    return render(request, "console/reauth/form.html", context, status=status)
