"""The pages behind the links: "Forgot password?", the new password, the address confirmed.

Every page answers ``Cache-Control: no-store`` and, for pages under a token, is never logged
with its path (Django logs 4xx answers by path; the access log masks the token). The
"Forgot password?" form answers the same page whatever the address; it is throttled per
address and per client address (``core.limits``, a 429 page for both alike)."""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.session import auth_state
from audit.services import client_ip
from core import limits
from core.request_meta import request_meta
from mfa import flows, policy
from mfa import selectors as mfa_selectors
from roles.models import Role
from selfservice import invitations, links

RESET_PER_ADDRESS = limits.Rate("password-reset-address", "PASSWORD_RESET_PER_ADDRESS", 3600)
RESET_PER_IP = limits.Rate("password-reset-ip", "PASSWORD_RESET_PER_IP", 3600)
VERIFY_PER_USER = limits.Rate("email-verify-send", "PASSWORD_RESET_PER_ADDRESS", 3600)
GONE_STATUS = {links.USED: 410, links.EXPIRED: 410, links.UNKNOWN: 404}


class ForgotForm(forms.Form):
    email = forms.EmailField(max_length=254)


class NewPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(widget=forms.PasswordInput, strip=False)

    def __init__(self, user: object, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        for field in ("username", "email"):  # the similarity validator compares them
            if field in data:
                setattr(self.user, field, data[field])
        if "password" in data and data.get("password") != data.get("password2"):
            self.add_error("password2", gettext("The two passwords are not the same."))
        elif "password" in data:
            try:
                password_validation.validate_password(data["password"], self.user)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    add_never_cache_headers(response)
    response._has_been_logged = True  # no path (a token) in Django's 4xx log line
    return response


def _throttled(request: HttpRequest, seconds: int) -> HttpResponse:
    response = _page(request, "selfservice/throttled.html", {"retry": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


@require_http_methods(["GET", "POST"])
def forgot(request: HttpRequest) -> HttpResponse:
    form = ForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        retry = limits.hit(RESET_PER_IP, client_ip(request) or "-") or limits.hit(
            RESET_PER_ADDRESS, email.strip().casefold()
        )
        if retry:
            return _throttled(request, retry)
        links.password_reset_request(email=email, meta=request_meta(request))
        return _page(request, "selfservice/forgot_sent.html", {"email": email})
    status = 400 if form.errors else 200
    return _page(request, "selfservice/forgot.html", {"form": form}, status=status)


def _gone(request: HttpRequest, state: str, what: str) -> HttpResponse:
    context = {"state": state, "what": what}
    return _page(request, "selfservice/gone.html", context, status=GONE_STATUS[state])


@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest, token: str) -> HttpResponse:
    found = links.link_state(token, links.Link.Purpose.PASSWORD_RESET)
    if found.state != links.VALID or found.link is None:
        return _gone(request, found.state, "reset")
    form = NewPasswordForm(found.link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            links.password_reset_complete(
                token=token, password=form.cleaned_data["password"], meta=request_meta(request)
            )
        except links.LinkUnusable as exc:
            return _gone(request, exc.state, "reset")
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return _page(request, "selfservice/reset_done.html", {})
    status = 400 if form.errors else 200
    context = {"form": form, "username": found.link.user.username}
    return _page(request, "selfservice/reset.html", context, status=status)


class InvitationForm(NewPasswordForm):
    username = forms.CharField(max_length=150, strip=True)
    field_order = ["username", "password", "password2"]


class RegistrationForm(InvitationForm):
    email = forms.EmailField(max_length=254)
    field_order = ["username", "email", "password", "password2"]


REGISTER_PER_IP = limits.Rate("register-ip", "PASSWORD_RESET_PER_IP", 3600)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Self-registration (``REGISTRATION_OPEN``; else 404): the account is made disabled and
    enabled by the link mailed to its address. An address that has an account gets the same
    answer and no second account."""
    if not settings.REGISTRATION_OPEN:
        raise Http404
    form = RegistrationForm(User(), request.POST or None)
    if request.method == "POST" and form.is_valid():
        retry = limits.hit(REGISTER_PER_IP, client_ip(request) or "-")
        if retry:
            return _throttled(request, retry)
        data = form.cleaned_data
        try:
            links.register(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                meta=request_meta(request),
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return _page(request, "selfservice/registered.html", {"email": data["email"]})
    context = {"form": form, "domains": settings.REGISTRATION_DOMAINS}
    return _page(request, "selfservice/register.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Choose a username and password; then the second factor when one is due
    (``mfa.flows.after_password``, which signs in once it is set up)."""
    state, found = invitations.invitation_for(token)
    if state != links.VALID or found is None:
        return _gone(request, state, "invitation")
    form = InvitationForm(User(email=found.email), request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = invitations.invitation_accept(
                token=token,
                username=data["username"],
                password=data["password"],
                meta=request_meta(request),
            )
        except links.LinkUnusable as exc:
            return _gone(request, exc.state, "invitation")
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            user.backend = settings.AUTHENTICATION_BACKENDS[0]
            welcome = reverse("selfservice:welcome")
            return redirect(flows.after_password(request, user, welcome) or welcome)
    roles = invitations.invited_roles(found)
    context = {
        "form": form,
        "email": found.email,
        "invited_by": found.invited_by,
        "needs_factor": settings.MFA_REQUIRED
        or Role.objects.filter(name__in=roles, require_mfa=True).exists(),
    }
    return _page(
        request, "selfservice/invitation.html", context, status=400 if form.errors else 200
    )


def welcome(request: HttpRequest) -> HttpResponse:
    return _page(request, "selfservice/welcome.html", {})


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links; only a POST confirms)."""
    found = links.verification_state(token)
    if found.state != links.VALID or found.link is None:
        return _gone(request, found.state, "verify")
    if request.method == "POST":
        try:
            user = links.email_verify(
                token=token, meta=request_meta(request), purpose=found.link.purpose
            )
        except links.LinkUnusable as exc:
            return _gone(request, exc.state, "verify")
        return _page(request, "selfservice/verified.html", {"email": user.email})
    return _page(request, "selfservice/verify.html", {"email": found.link.email})


@login_required
@require_http_methods(["GET", "POST"])
def verify_status(request: HttpRequest) -> HttpResponse:
    """The signed-in user's address and whether it is confirmed; POST sends a new link."""
    user = request.user
    sent = False
    if request.method == "POST" and not user.email_verified and user.email:
        retry = limits.hit(VERIFY_PER_USER, str(user.pk))
        if retry:
            return _throttled(request, retry)
        sent = links.email_verification_send(user=user, meta=request_meta(request))
    context = {"email": user.email, "verified": user.email_verified, "sent": sent}
    context["next"] = _safe_next(request)
    return _page(request, "selfservice/verify_status.html", context)


def _recent_sign_in(request: HttpRequest) -> bool:
    """A sign-in within ``MFA_REAUTH_SECONDS``, with the second factor when the user has one
    (the rule of the factor pages)."""
    state = auth_state(request)
    if state is None or time.time() - state.get("auth_time", 0) > settings.MFA_REAUTH_SECONDS:
        return False
    return policy.is_multi_factor(state) or not mfa_selectors.has_factor(request.user)


class EmailForm(forms.Form):
    email = forms.EmailField(max_length=254)


@login_required
@require_http_methods(["GET", "POST"])
def email_change(request: HttpRequest) -> HttpResponse:
    """Ask for a new address (a recent sign-in needed); the link goes to the new address."""
    if not _recent_sign_in(request):
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    form = EmailForm(request.POST or None)
    sent = ""
    if request.method == "POST" and form.is_valid():
        retry = limits.hit(VERIFY_PER_USER, str(request.user.pk))
        if retry:
            return _throttled(request, retry)
        try:
            links.email_change_request(
                user=request.user, email=form.cleaned_data["email"], meta=request_meta(request)
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            sent, form = form.cleaned_data["email"], EmailForm()
    user = request.user
    context = {"form": form, "sent": sent, "current": user.email, "verified": user.email_verified}
    return _page(
        request, "selfservice/email_change.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); the POST applies the new address."""
    found = links.link_state(token, links.Link.Purpose.EMAIL_CHANGE)
    if found.state != links.VALID or found.link is None:
        return _gone(request, found.state, "change")
    if request.method == "POST":
        try:
            user = links.email_change_confirm(token=token, meta=request_meta(request))
        except links.LinkUnusable as exc:
            return _gone(request, exc.state, "change")
        return _page(request, "selfservice/email_changed.html", {"email": user.email})
    return _page(request, "selfservice/verify.html", {"email": found.link.email})


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed else ""
