"""What a client does against a running server, over real HTTP."""

from __future__ import annotations

import re

import requests

from tests.conftest import PASSWORD


def client_credentials(base: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )


def introspect(base: str, token: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base}/o/introspect/", data={"token": token}, auth=(client_id, secret), timeout=10
    )


def login(
    base: str,
    username: str = "alice",
    password: str = PASSWORD,
    browser: requests.Session | None = None,
) -> requests.Response:
    """Sign in through the HTML form (CSRF cookie and token), in ``browser`` or a new one."""
    browser = browser or requests.Session()
    page = browser.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return browser.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
