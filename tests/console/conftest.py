"""Console fixtures: an administrator with console roles, and a multi-factor session.

TEST-ONLY MFA SEAM. The console requires ``acr`` "2" (a multi-factor sign-in). Until the MFA
branch (a real TOTP step at sign-in) is merged, these tests sign in through the real password
form and then mark *that* session as multi-factor by writing the sign-in context server-side
(``mark_multi_factor``): the session store is changed directly, exactly as
``accounts.session.record_login`` would after a second factor. Nothing in the application can
do this; it lives here, in tests, only. Once MFA is merged, replace it with the TOTP step.
"""

from __future__ import annotations

import time
from importlib import import_module

import pytest
from django.conf import settings

from accounts.session import SESSION_KEY
from console import access
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.conftest import login

ALL_CONSOLE = [access.CONSOLE_ACCESS, *access.CONSOLE_PERMISSIONS]


def mark_multi_factor(session_key: str) -> None:
    """Write a multi-factor sign-in context (pwd + otp, acr 2) into a stored session."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    state = dict(store[SESSION_KEY])
    state.update(amr=["pwd", "otp"], acr="2", auth_time=int(time.time()))
    store[SESSION_KEY] = state
    store.save()


@pytest.fixture
def grant_roles(db):
    """``grant_roles(user, *permissions)``: a role holding exactly ``permissions``, given to
    ``user`` (each call makes a new role)."""
    counter = iter(range(1000))

    def grant(user, *permissions: str):
        role = role_services.role_create(
            name=f"test-{user.username}-{next(counter)}", permissions=list(permissions)
        )
        held = [
            AssignmentSpec(r) for r in user.role_assignments.values_list("role__name", flat=True)
        ]
        role_services.user_roles_set(user=user, assignments=[*held, AssignmentSpec(role.name)])
        return role

    return grant


@pytest.fixture
def admin(make_user, grant_roles):
    """A user holding every console permission through the ``console-admin`` role."""
    role_services.role_create(name="console-admin", permissions=ALL_CONSOLE)
    user = make_user("root")
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("console-admin")])
    return user


def sign_in(http, user, *, multi_factor: bool = True):
    """Sign ``user`` in through the login form; optionally make the session multi-factor."""
    response = login(http, user.username)
    assert response.status_code == 302, response.content
    if multi_factor:
        mark_multi_factor(http.session.session_key)
    return http


@pytest.fixture
def console(client, admin):
    """Django's test client signed in as ``admin`` with a multi-factor session."""
    return sign_in(client, admin)


def csrf_of(response) -> str:
    return response.context["csrf_token"] if response.context else ""
