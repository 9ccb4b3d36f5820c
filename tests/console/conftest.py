"""Console fixtures: an administrator with console roles, signed in with a real second factor.

``sign_in`` goes through the real pages: the password form, then the second-factor page with
a TOTP code computed (pyotp) from the seed stored for the user, so the session is multi-factor
exactly as a person's would be. Nothing writes the session directly.
"""

from __future__ import annotations

import re

import pytest

from console import access
from core import clock as core_clock
from core.actors import APPLY
from mfa import selectors as mfa_selectors
from mfa import services as mfa_services
from mfa import totp
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.conftest import forget_seeding, login

ALL_CONSOLE = [access.CONSOLE_ACCESS, *access.CONSOLE_PERMISSIONS]


def enrol_totp(user) -> None:
    """Give ``user`` an authenticator app (the seed is kept encrypted, as at enrolment)."""
    mfa_services.authenticator_totp_provision(user=user)


def next_totp_code(user) -> str:
    """The user's next unused TOTP code, from their stored seed: the current step's, or the
    next step's when the current one was used already (the server accepts one step of drift)."""
    authenticator = mfa_selectors.totp_of(user)
    secret = mfa_services.totp_secret(authenticator)
    step = max(totp.step_at(core_clock.now()), authenticator.data.get("last_used_step", -1) + 1)
    return totp.code_at(secret, step * totp.PERIOD)


def csrf_token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


@pytest.fixture
def grant_roles(db):
    """``grant_roles(user, *permissions)``: a role holding exactly ``permissions``, given to
    ``user`` (each call makes a new role)."""
    counter = iter(range(1000))

    def grant(user, *permissions: str):
        role = role_services.role_create(
            actor=APPLY, name=f"test-{user.username}-{next(counter)}", permissions=list(permissions)
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
    role_services.role_create(actor=APPLY, name="console-admin", permissions=ALL_CONSOLE)
    user = make_user("root")
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("console-admin")])
    forget_seeding()
    return user


def sign_in(http, user, *, multi_factor: bool = True):
    """Sign ``user`` in through the login form and, with ``multi_factor``, the TOTP step (the
    user gets an authenticator app first if they have none)."""
    if multi_factor and mfa_selectors.totp_of(user) is None:
        enrol_totp(user)
    response = login(http, user.username)
    assert response.status_code == 302, response.content
    if multi_factor:
        assert response["Location"].startswith("/mfa/authenticate/"), response["Location"]
        token = csrf_token(http.get(response["Location"]))
        code = next_totp_code(user)
        done = http.post(response["Location"], {"code": code, "csrfmiddlewaretoken": token})
        assert done.status_code == 302, done.content
    return http


@pytest.fixture
def console(client, admin):
    """Django's test client signed in as ``admin`` with a multi-factor session."""
    return sign_in(client, admin)


def csrf_of(response) -> str:
    return response.context["csrf_token"] if response.context else ""


@pytest.fixture
def stale(clock, settings):
    """Move the project's clock past ``CONSOLE_REAUTH_SECONDS``: the admin's last second-factor
    proof is now too old for privilege changes (a new proof is fresh again)."""
    clock.advance(settings.CONSOLE_REAUTH_SECONDS + 1)


def text(response) -> str:
    return response.content.decode()
