"""The account page (``/account/``): profile, password, second factors (mfa's pages), where the
user is signed in, applications, recent security events. Server-rendered like the sign-in and
/mfa/ pages; every change calls one ``selfservice.services`` function, which asks for a recent
sign-in first: without one the user is sent through sign-in and back to the page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.limits import login_checks
from audit.models import AuditEvent
from audit.services import record
from core import limits
from core.request_meta import request_meta
from mfa import flows as mfa_flows
from mfa import selectors as mfa_selectors
from selfservice import devices, events, selectors, services, sessions
from selfservice.models import BrowserSession

View = Callable[..., HttpResponse]
NAME_MAX = 255
EVENTS_PER_PAGE = 20


def account_view(back: str | None = None) -> Callable[[View], View]:
    """Signed in (else the sign-in page), never cached; a change refused for want of a recent
    sign-in (``services.SignInAgain``) sends the user through sign-in and back to the page
    named ``back`` (the page the form is on; default: this one)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            try:
                return view(request, *args, **kwargs)
            except services.SignInAgain:
                page = reverse(back) if back else request.path
                return redirect_to_login(page, settings.LOGIN_URL)
            except services.NotYours:
                raise Http404(_("Nothing of yours has this id.")) from None

        return never_cache(wrapped)

    return decorate


def _me(request: HttpRequest) -> services.Myself:
    subject = mfa_flows.Subject(request.user, None)
    fresh = mfa_flows.may_change_factors(request, subject)
    return services.Myself(audit_name=request.user.get_username(), fresh=fresh)


def _page(request: HttpRequest, template: str, section: str, **context: Any) -> HttpResponse:
    context.update(section=section, fresh=_me(request).fresh)
    status = context.pop("status", 200)
    return render(request, f"selfservice/{template}", context, status=status)


@require_http_methods(["GET", "POST"])
@account_view()
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    error = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if len(name) > NAME_MAX:
            error = _("A name has at most %(n)d characters.") % {"n": NAME_MAX}
        else:
            meta = request_meta(request)
            services.profile_update(actor=_me(request), meta=meta, user=user, name=name)
            messages.success(request, _("Your profile is saved."))
            return redirect("selfservice:profile")
    return _page(
        request,
        "profile.html",
        "profile",
        name=request.POST.get("name", user.name) if error else user.name,
        error=error,
        status=400 if error else 200,
        # The address is changed (and verified) by following a link sent to it.
        email_verified=user.email_verified,
        has_factor=mfa_selectors.has_factor(user),
    )


@require_http_methods(["GET", "POST"])
@account_view()
def password(request: HttpRequest) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        me = _me(request)
        me.require_fresh_factor()
        user = request.user
        checks = login_checks(user.get_username(), request_meta(request).ip)
        try:
            blocked = limits.retry_after(*checks)
        except limits.LimitUnavailable:
            blocked = 30
        if blocked:
            errors = {"current_password": [_("Too many wrong passwords. Try again later.")]}
            status = 429
        else:
            here = BrowserSession.objects.filter(session_id=request.session.session_key).first()
            try:
                ended = services.password_change(
                    actor=me,
                    meta=request_meta(request),
                    user=user,
                    current=request.POST.get("current_password", ""),
                    new=request.POST.get("new_password", ""),
                    keep_session=request.session.session_key,
                )
            except ValidationError as exc:
                errors, status = exc.message_dict, 400
                if "current_password" in errors:
                    _wrong_current_password(request, checks)
            else:
                update_session_auth_hash(request, user)  # this session stays, its key rotated
                sessions.rekeyed(here, request)
                text = _("Your password is changed. Other sessions signed out: %(n)d.")
                messages.success(request, text % {"n": ended})
                return redirect("selfservice:password")
    return _page(request, "password.html", "password", errors=errors, status=status)


def _wrong_current_password(request: HttpRequest, checks: Any) -> None:
    """A wrong current password counts as a failed sign-in of the account (so a stolen session
    cannot guess the password faster than the sign-in page allows)."""
    record(
        "account.password_changed",
        actor=request.user.get_username(),
        target=request.user.get_username(),
        outcome=AuditEvent.Outcome.FAILURE,
        request=request,
        reason="current password",
    )
    try:
        limits.record_failure(*checks)
    except limits.LimitUnavailable:
        pass


@require_GET
@account_view()
def sessions_page(request: HttpRequest) -> HttpResponse:
    listed, alone = selectors.where_signed_in(
        request.user, timezone.now(), request.session.session_key
    )
    return _page(request, "sessions.html", "sessions", browsers=listed, apps=alone)


@require_POST
@account_view(back="selfservice:sessions")
def session_end(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    services.session_end(
        actor=_me(request),
        meta=request_meta(request),
        user=request.user,
        session_id=session_id,
        now=timezone.now(),
        current_key=request.session.session_key,
    )
    messages.success(request, _("That session is signed out."))
    return redirect("selfservice:sessions")


@require_POST
@account_view(back="selfservice:sessions")
def app_session_end(request: HttpRequest, family: uuid.UUID) -> HttpResponse:
    services.app_session_end(
        actor=_me(request),
        meta=request_meta(request),
        user=request.user,
        family=family,
        now=timezone.now(),
    )
    messages.success(request, _("That app sign-in is ended."))
    return redirect("selfservice:sessions")


@require_POST
@account_view(back="selfservice:sessions")
def sign_out_elsewhere(request: HttpRequest) -> HttpResponse:
    browsers, apps = services.sign_out_elsewhere(
        actor=_me(request),
        meta=request_meta(request),
        user=request.user,
        now=timezone.now(),
        current_key=request.session.session_key,
    )
    text = _("Signed out everywhere else: %(browsers)d sessions, %(apps)d app sign-ins.")
    messages.success(request, text % {"browsers": browsers, "apps": apps})
    return redirect("selfservice:sessions")


@require_GET
@account_view()
def applications(request: HttpRequest) -> HttpResponse:
    found = selectors.applications(request.user, timezone.now())
    return _page(request, "applications.html", "applications", applications=found)


@require_POST
@account_view(back="selfservice:applications")
def application_revoke(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = services.application_revoke(
        actor=_me(request),
        meta=request_meta(request),
        user=request.user,
        client_pk=client_pk,
        now=timezone.now(),
    )
    text = _("%(name)s no longer has access to your account.")
    messages.success(request, text % {"name": client.name or client.client_id})
    return redirect("selfservice:applications")


@require_GET
@account_view()
def security_events(request: HttpRequest) -> HttpResponse:
    rows = selectors.security_events(request.user, timezone.now())
    page = Paginator(rows, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    shown = [
        {
            "ts": e.ts,
            "words": events.words(e.event, e.outcome),
            "outcome": e.outcome,
            "ip": e.ip,
            "device": devices.describe(e.user_agent) if e.user_agent else "",
        }
        for e in page
    ]
    return _page(
        request, "events.html", "events", page=page, events=shown, days=selectors.EVENT_DAYS
    )


def signed_in_home(request: HttpRequest) -> HttpResponse:
    """``/``: the account page for a signed-in user, else the sign-in page."""
    if request.user.is_authenticated:
        return redirect("selfservice:profile")
    return redirect(reverse(settings.LOGIN_URL))
