"""Fixtures of the account page: a signed-in browser (Django's test client through the login
form, so its browser session is recorded as a real one is) and a second one of the same user."""

from __future__ import annotations

import pytest
from django.test import Client as Browser

from tests import flows
from tests.conftest import basic_auth, login

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def alice(make_user):
    return make_user("alice", name="Alice")


def signed_in_browser(user_agent: str, address: str) -> Browser:
    browser = Browser(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = login(browser, "alice")
    assert response.status_code == 302, response.content
    return browser


@pytest.fixture
def desktop(alice):
    return signed_in_browser(CHROME, "198.51.100.7")


@pytest.fixture
def phone(alice):
    return signed_in_browser(IPHONE, "203.0.113.9")


@pytest.fixture
def stale_sign_in(clock):
    """``move()``: the one clock moves past ``MFA_REAUTH_SECONDS`` since the sign-in."""

    def move(seconds: int = 601) -> None:
        clock.advance(seconds)

    return move


@pytest.fixture
def code_flow_tokens(web_client):
    """``run(browser)``: the code flow of the ``webapp`` client through a signed-in browser
    (consent skipped), returning the token response (with a refresh token)."""
    client, secret = web_client

    def run(browser: Browser, scope: str = "openid profile offline_access") -> dict:
        code, verifier = flows.authorize(browser, client.client_id, scope=scope)
        response = flows.exchange(browser, client.client_id, secret, code, verifier)
        assert response.status_code == 200, response.content
        return response.json()

    return run


def refresh_answer(http: Browser, web_client: tuple, refresh_token: str) -> dict:
    """What the token endpoint answers ``webapp`` refreshing with ``refresh_token``."""
    client, secret = web_client
    response = http.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    return response.json()
