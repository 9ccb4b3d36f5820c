"""What a client does against a running server, over real HTTP."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import PASSWORD, REDIRECT_URI
from tests.flows import pkce_pair


def client_credentials(base: str, client_id: str, secret: str, **params: str) -> requests.Response:
    return requests.post(
        f"{base}/o/token/",
        data={"grant_type": "client_credentials", **params},
        auth=(client_id, secret),
        timeout=10,
    )


def introspect(base: str, token: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base}/o/introspect/", data={"token": token}, auth=(client_id, secret), timeout=10
    )


def form_token(browser: requests.Session, url: str) -> str:
    """GET the form page ``url`` in ``browser`` (setting the CSRF cookie); its CSRF token."""
    page = browser.get(url, timeout=10)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def login(
    base: str,
    username: str = "alice",
    password: str = PASSWORD,
    browser: requests.Session | None = None,
) -> requests.Response:
    """Sign in through the HTML form (CSRF cookie and token), in ``browser`` or a new one."""
    browser = browser or requests.Session()
    token = form_token(browser, f"{base}/accounts/login/")
    return browser.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )


def authorize(base: str, browser: requests.Session, client_id: str = "webapp") -> tuple[str, str]:
    """A signed-in ``browser`` gets a code (PKCE, offline_access); returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    response = browser.get(
        f"{base}/o/authorize/",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid offline_access",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0], verifier


def exchange(base: str, code: str, verifier: str, client: tuple[str, str]) -> requests.Response:
    return requests.post(
        f"{base}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=client,
        timeout=30,
    )


def refresh(base: str, refresh_token: str, client: tuple[str, str]) -> requests.Response:
    return requests.post(
        f"{base}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=client,
        timeout=30,
    )
