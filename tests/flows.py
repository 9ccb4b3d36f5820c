"""Protocol flows driven through Django's test client, shared by tests of several apps."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from tests.conftest import REDIRECT_URI, basic_auth, query_of


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(browser, client_id: str, scope: str = "openid offline_access") -> tuple[str, str]:
    """A signed-in ``browser`` asks for a code with PKCE; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    response = browser.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 302, response
    return query_of(response["Location"])["code"], verifier


def exchange(browser, client_id: str, secret: str, code: str, verifier: str) -> Any:
    """The code exchange at the token endpoint (client_secret_basic)."""
    return browser.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


def meanwhile(monkeypatch: Any, use: Any) -> list:
    """Run ``use`` (another request) once, inside the next token request, between its reads
    and its write: when it signs its first token (the token endpoint signs outside any
    transaction). Returns the list ``use``'s answer is put in."""
    from oauth import tokens

    answers, sign = [], tokens.sign

    def signing(*args, **kwargs):
        if not answers:
            answers.append(None)  # the nested request signs too
            answers[0] = use()
        return sign(*args, **kwargs)

    monkeypatch.setattr(tokens, "sign", signing)
    return answers
