"""MFA fixtures: a controllable clock, a user with TOTP, and the two-step sign-in."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from mfa import services, totp
from tests.conftest import PASSWORD, login


@dataclass
class Clock:
    now: float

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    """The MFA clock, 10 s into the current TOTP step; tests move it instead of sleeping."""
    c = Clock(float(int(time.time()) // totp.PERIOD * totp.PERIOD + 10))
    monkeypatch.setattr(services, "_now", lambda: c.now)
    return c


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
