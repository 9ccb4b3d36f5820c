"""``/setup/<token>``: the first administrator's account, then their second factor.

The form asks username, email and password; the account is made by ``setup.services`` and the
session continues as a pending sign-in that must enrol a factor (``mfa.flows.after_password``:
the mfa app's own enrolment pages), landing on the console dashboard. A used, expired or
unknown link gets a page saying so, with no form. Throttled per client address."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from audit.services import client_ip
from core import limits
from core.request_meta import request_meta
from mfa import flows
from setup import services

SETUP_RATE = limits.Rate("setup", "SETUP_RATE_LIMIT", window=60)  # requests per address
GONE_STATUS = {services.USED: 410, services.EXPIRED: 410, services.UNKNOWN: 404}


class AdministratorForm(forms.Form):
    username = forms.CharField(max_length=150, strip=True)
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)

    def clean(self) -> dict:
        """Django's password validators (AUTH_PASSWORD_VALIDATORS) with the other fields, so
        every error shows at once."""
        data = super().clean()
        if "password" in data:
            user = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    add_never_cache_headers(response)
    # Django logs every 4xx with its path ("Bad Request: /setup/<token>"), which would put a
    # live token in the logs; the audit trail records what happened instead.
    response._has_been_logged = True  # django.utils.log.log_response's own marker
    return response


@require_http_methods(["GET", "POST"])
def setup_link(request: HttpRequest, token: str) -> HttpResponse:
    retry_after = limits.hit(SETUP_RATE, client_ip(request) or "-")
    if retry_after:
        response = _page(request, "setup/throttled.html", {"retry": retry_after}, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    state = services.link_state(token)
    if state != services.VALID:
        return _page(request, "setup/gone.html", {"state": state}, status=GONE_STATUS[state])
    form = AdministratorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_administrator(
                token=token, meta=request_meta(request), **form.cleaned_data
            )
        except services.LinkUnusable as exc:
            context = {"state": exc.state}
            return _page(request, "setup/gone.html", context, status=GONE_STATUS[exc.state])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            user.backend = settings.AUTHENTICATION_BACKENDS[0]
            enrol = flows.after_password(request, user, reverse("console:dashboard"))
            return redirect(enrol or "console:dashboard")
    status = 400 if form.errors else 200
    return _page(request, "setup/form.html", {"form": form}, status=status)
