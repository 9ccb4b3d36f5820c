"""Abuse-response fixtures: small thresholds, a spray helper, a movable clock."""

from __future__ import annotations

import pytest

from tests.api.conftest import caller  # noqa: F401  (fixture)
from tests.conftest import PASSWORD
from tests.console.conftest import admin, console, grant_roles  # noqa: F401  (fixtures)
from tests.roles.conftest import client_credentials_token  # noqa: F401  (fixture)

ATTACKER = "203.0.113.7"
OTHER = "198.51.100.20"


@pytest.fixture(autouse=True)
def small_thresholds(settings):
    """Four failures on three accounts within 60 s block for 120 s; the per-account and per-IP
    sign-in throttles are raised out of the way so only the abuse response acts."""
    settings.ABUSE_IP_FAILURES = 4
    settings.ABUSE_IP_MIN_ACCOUNTS = 3
    settings.ABUSE_IP_WINDOW = 60
    settings.ABUSE_IP_BLOCK_SECONDS = 120
    settings.ABUSE_IP_ALLOWLIST = []
    settings.LOGIN_FAILURES_PER_ACCOUNT = 100
    settings.LOGIN_FAILURES_PER_IP = 1000
    settings.TOKEN_AUTH_FAILURES_PER_CLIENT = 100
    settings.TOKEN_AUTH_FAILURES_PER_IP = 1000


def attempt(browser, username: str, password: str = "wrong", ip: str = ATTACKER):
    return browser.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def spray(browser, usernames=("bob", "carol", "dave", "bob"), ip: str = ATTACKER) -> None:
    """Wrong passwords for several accounts from one IP (4 failures on 3 accounts)."""
    for username in usernames:
        attempt(browser, username, ip=ip)


@pytest.fixture
def users(make_user):
    return {name: make_user(name, PASSWORD) for name in ("alice", "bob", "carol", "dave")}


@pytest.fixture
def attacker():
    """A second browser, so the console's session is not the one signing in."""
    from django.test import Client

    return Client()
