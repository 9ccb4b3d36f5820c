"""MFA fixtures: a controllable clock, a user with TOTP, and the two-step sign-in."""

from __future__ import annotations

import pytest

from mfa import services, totp
from tests.conftest import PASSWORD, Clock, login


@pytest.fixture
def clock(clock: Clock) -> Clock:
    """The project's clock, 10 s into the current TOTP step; tests move it instead of
    sleeping."""
    clock.set(float(int(clock.now) // totp.PERIOD * totp.PERIOD + 10))
    return clock


def code_now(secret: str, clock: Clock, steps: int = 0) -> str:
    return totp.code_at(secret, clock.now + steps * totp.PERIOD)


@pytest.fixture
def totp_user(make_user, clock):
    """alice with an authenticator app; returns (user, base32 secret)."""
    user = make_user("alice")
    secret = services.authenticator_totp_provision(user=user)
    return user, secret


def password_step(browser, username: str = "alice", password: str = PASSWORD):
    return login(browser, username, password)


def full_login(browser, secret: str, clock: Clock, username: str = "alice"):
    """Password then the current TOTP code; returns the second response."""
    first = password_step(browser, username)
    assert first.status_code == 302 and first["Location"].startswith("/mfa/authenticate/")
    return browser.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
