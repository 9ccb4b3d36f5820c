"""The console's one authorisation choke point.

A console page is served only when all of these hold, checked in this order:
1. the browser session is signed in (else: redirect to the login page);
2. the user holds the named permission ``console:access`` through their roles;
3. the session's sign-in was multi-factor (``acr`` "2" in ``accounts.session.auth_state``);
4. the user holds the page's or action's own named permission (``users:write``, ...).
No Django superuser or staff shortcut: only roles count. Refusals render one explanatory page
with status 403 (never a redirect loop, never a 500).

Privilege changes need a second factor proved within ``CONSOLE_REAUTH_SECONDS`` (SECURITY 49,
85, ASVS 7.5.1/7.5.3). The domain service that makes the change checks it (through the actor
it is given, ``roles.access.acting(principal)``); the console's principal carries when the
session last proved one, and ``console_view`` turns the service's ``ReauthenticationRequired``
into the re-authentication page and back: what the admin had typed (never a password or code) is
kept in the session and put back. Pages whose every submission changes privileges also ask on
the GET (``asks_fresh_factor``), before the form is filled.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from accounts.session import auth_state, second_factor_time
from audit.services import SENSITIVE
from roles import policy, selectors
from roles.access import (  # noqa: F401  (re-exported for the console views)
    AUDIT_READ,
    CLIENTS_READ,
    CLIENTS_WRITE,
    CONFIG_EXPORT,
    CONFIG_IMPORT,
    GROUPS_READ,
    GROUPS_WRITE,
    MANAGEMENT_PERMISSIONS,
    ROLES_READ,
    ROLES_WRITE,
    TOKENS_READ,
    TOKENS_WRITE,
    USERS_READ,
    USERS_WRITE,
    ReauthenticationRequired,
    factor_fresh,
    principal_for_user,
)
from roles.decisions import Principal

CONSOLE_ACCESS = "console:access"
# The same named permissions as the management API, from its one choke point.
CONSOLE_PERMISSIONS = MANAGEMENT_PERMISSIONS
MULTI_FACTOR_ACR = "2"

View = Callable[..., HttpResponse]


def held(grant: policy.Grant, permission: str) -> bool:
    return grant.allows(permission, None, None)


def missing(grant: policy.Grant, permission: str | tuple[str, ...] | None) -> str | None:
    """The first of the named ``permission`` (one or several) that ``grant`` lacks."""
    wanted = (permission,) if isinstance(permission, str) else permission or ()
    return next((p for p in wanted if not held(grant, p)), None)


def refusal(
    request: HttpRequest, grant: policy.Grant, permission: str | tuple[str, ...] | None
) -> str | None:
    """Why ``request`` may not see a page needing ``permission`` (None: it may)."""
    if not held(grant, CONSOLE_ACCESS):
        return "no-access"
    state = auth_state(request) or {}
    if state.get("acr") != MULTI_FACTOR_ACR:
        return "needs-mfa"
    if missing(grant, permission) is not None:
        return "missing-permission"
    return None


def console_view(
    permission: str | tuple[str, ...] | None = None, *, form_page: str | None = None
) -> Callable[[View], View]:
    """Guard a console view; ``permission`` is the page's or action's own named permission
    (a tuple: each of them).
    ``form_page``: the URL name of the page holding the form, when the view's own URL only
    takes the POST (where a stale admin comes back to after re-authenticating)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            grant = selectors.user_grant(request.user.pk)
            reason = refusal(request, grant, permission)
            if reason is not None:
                context = {"reason": reason, "permission": missing(grant, permission)}
                return render(request, "console/denied.html", context, status=403)
            # Which console permissions the user holds, so pages show only the links and
            # buttons that will work (each action is checked again by its own view).
            request.console_can = {p.replace(":", "_"): held(grant, p) for p in CONSOLE_PERMISSIONS}
            try:
                response = view(request, *args, **kwargs)
            except ReauthenticationRequired:
                page = reverse(form_page, args=args, kwargs=kwargs) if form_page else request.path
                response = reauthenticate(request, page)
            add_never_cache_headers(response)  # admin data (and one-time secrets): no-store
            return response

        return guarded

    return decorator


def principal(request: HttpRequest) -> Principal:
    """The signed-in admin as the acting principal of ``roles.access`` (and, wrapped by
    ``roles.access.acting``, the actor of the domain services),
    with when the session last proved a second factor."""
    return principal_for_user(request.user, factor_time=second_factor_time(request))


# --- a fresh second factor before sensitive actions ------------------------------------------

DRAFT = "console.draft"
# Form fields never kept across the re-authentication (SENSITIVE covers password, code, ...).
NOT_KEPT = ("csrfmiddlewaretoken", "confirm")


def reauth_url(next_url: str) -> str:
    return f"{reverse('console:reauth')}?{urlencode({'next': next_url})}"


def _keep_draft(request: HttpRequest, path: str) -> None:
    data = {
        name: request.POST.getlist(name)
        for name in request.POST
        if name not in NOT_KEPT and not any(word in name.lower() for word in SENSITIVE)
    }
    request.session[DRAFT] = {"path": path, "data": data}


def restore_draft(request: HttpRequest, form_class: type[forms.Form]) -> dict[str, Any]:
    """Initial values a stale POST left for the form on this page (once), else ``{}``."""
    draft = request.session.get(DRAFT)
    if not isinstance(draft, dict) or draft.get("path") != request.path:
        return {}
    del request.session[DRAFT]
    initial: dict[str, Any] = {}
    for name, field in form_class.base_fields.items():
        values = draft["data"].get(name)
        if values:
            multiple = isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField)
            initial[name] = values if multiple else values[-1]
    return initial


def reauthenticate(request: HttpRequest, page: str) -> HttpResponse:
    """Send a stale admin to prove the second factor, then back: a POST to ``page``, its fields
    kept for the form there (``restore_draft``); a GET to itself, with its query."""
    if request.method == "POST":
        _keep_draft(request, page)
        return redirect(reauth_url(page))
    return redirect(reauth_url(request.get_full_path()))


def asks_fresh_factor(view: View) -> View:
    """On the GET of a page whose every submission changes privileges (inside ``console_view``),
    ask for a fresh second factor before the form is filled. The POST is not checked here: the
    service that acts checks it."""

    @wraps(view)
    def asking(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET" and not factor_fresh(principal(request)):
            return reauthenticate(request, request.path)
        return view(request, *args, **kwargs)

    return asking
