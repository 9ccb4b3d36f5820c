"""The console's one authorisation choke point.

A console page is served only when all of these hold, checked in this order:
1. the browser session is signed in (else: redirect to the login page);
2. the user holds the named permission ``console:access`` through their roles;
3. the session's sign-in was multi-factor (``acr`` "2" in ``accounts.session.auth_state``);
4. the user holds the page's or action's own named permission (``users:write``, ...).
No Django superuser or staff shortcut: only roles count. Refusals render one explanatory page
with status 403 (never a redirect loop, never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from accounts.session import auth_state
from roles import policy, selectors
from roles.access import (  # noqa: F401  (re-exported for the console views)
    AUDIT_READ,
    CLIENTS_READ,
    CLIENTS_WRITE,
    MANAGEMENT_PERMISSIONS,
    ROLES_READ,
    ROLES_WRITE,
    TOKENS_READ,
    TOKENS_WRITE,
    USERS_READ,
    USERS_WRITE,
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


def refusal(request: HttpRequest, grant: policy.Grant, permission: str | None) -> str | None:
    """Why ``request`` may not see a page needing ``permission`` (None: it may)."""
    if not held(grant, CONSOLE_ACCESS):
        return "no-access"
    state = auth_state(request) or {}
    if state.get("acr") != MULTI_FACTOR_ACR:
        return "needs-mfa"
    if permission is not None and not held(grant, permission):
        return "missing-permission"
    return None


def console_view(permission: str | None = None) -> Callable[[View], View]:
    """Guard a console view; ``permission`` is the page's or action's own named permission."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            grant = selectors.user_grant(request.user.pk)
            reason = refusal(request, grant, permission)
            if reason is not None:
                context = {"reason": reason, "permission": permission}
                return render(request, "console/denied.html", context, status=403)
            # Which console permissions the user holds, so pages show only the links and
            # buttons that will work (each action is checked again by its own view).
            request.console_can = {p.replace(":", "_"): held(grant, p) for p in CONSOLE_PERMISSIONS}
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)  # admin data (and one-time secrets): no-store
            return response

        return guarded

    return decorator


def principal(request: HttpRequest) -> Principal:
    """The signed-in admin as the acting principal of ``mgmt.services`` and ``roles.access``."""
    return principal_for_user(request.user)
