"""Fixtures for roles tests: roles, tokens obtained through the real endpoints, AuthZEN calls."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import pytest

from core.actors import APPLY
from roles import services
from roles.services import AssignmentSpec
from tests.conftest import REDIRECT_URI, basic_auth, login, query_of

GATEWAY_API = "https://gateway.example.test/"


@pytest.fixture
def make_role(db):
    def make(name: str, *, parents=(), permissions=(), require_mfa: bool = False):
        return services.role_create(
            actor=APPLY,
            name=name,
            parents=parents,
            permissions=permissions,
            require_mfa=require_mfa,
        )

    return make


@pytest.fixture
def pdp_caller(make_client, make_role, make_api):
    """A resource server allowed to ask for decisions, the client of the registered API
    ``GATEWAY_API`` (so audience-less token subjects are its to ask about): (client, secret)."""
    make_role("pdp-caller", permissions=["authz:evaluate"])
    client, secret = make_client(client_id="gateway", name="Gateway")
    make_api(GATEWAY_API, client=client, name="Gateway API")
    services.client_roles_set(client=client, assignments=[AssignmentSpec("pdp-caller")])
    return client, secret


@pytest.fixture
def roles_web_client(make_client):
    """A web client that may ask for the ``roles`` scope (no consent page)."""
    return make_client(
        client_id="webapp",
        name="Web App",
        grant_types=["authorization_code"],
        redirect_uris=["https://app.example.com/callback"],
        scopes=["openid", "profile", "roles"],
        skip_consent=True,
    )


def client_credentials_token(
    http, client_id: str, secret: str, scope: str = "", resource: str | None = None
) -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    if resource:
        data["resource"] = resource
    response = http.post("/o/token/", data, HTTP_AUTHORIZATION=basic_auth(client_id, secret))
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def authorize(
    http,
    username: str,
    *,
    scope: str = "openid",
    client_id: str = "webapp",
    login_first: bool = True,
    resource: str | None = None,
) -> Any:
    """Sign in ``username`` (unless ``http`` already is) and run an authorization request of
    ``client_id`` (for the RFC 8707 ``resource``, when given)."""
    if login_first:
        login(http, username)
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "xyz",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    if resource:
        params["resource"] = resource
    response = http.get("/o/authorize/", params)
    response.verifier = verifier
    return response


def user_tokens(
    http,
    web_client,
    username: str,
    *,
    scope: str = "openid",
    login_first: bool = True,
    resource: str | None = None,
) -> dict[str, Any]:
    """Tokens for ``username`` from the full code flow of ``web_client`` (client, secret)."""
    client, secret = web_client
    response = authorize(
        http,
        username,
        scope=scope,
        client_id=client.client_id,
        login_first=login_first,
        resource=resource,
    )
    assert response.status_code == 302, response.content
    code = query_of(response["Location"])["code"]
    token = http.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": response.verifier,
        },
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert token.status_code == 200, token.content
    return token.json()


def post_json(http, path: str, body: Any, **headers: str):
    return http.post(path, json.dumps(body), content_type="application/json", **headers)
