"""Fixtures for the management API: callers holding chosen permissions, and a JSON client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.actors import APPLY
from oauth.apis import MANAGEMENT, MANAGEMENT_SCOPE, management_audience
from roles import services as role_services
from roles.access import MANAGEMENT_PERMISSIONS
from roles.services import AssignmentSpec
from tests.conftest import basic_auth, forget_seeding
from tests.roles.conftest import (  # noqa: F401 (fixture)
    client_credentials_token,
    make_role,
    user_tokens,
)


class Api:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, http: Any, token: str | None, credentials: tuple[str, str] = ("", "")):
        self.http = http
        self.token = token
        self.credentials = credentials  # (client_id, secret) of the caller's own client

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        if self.token is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        return self.http.generic(method, path, **kwargs, **headers)

    def get(self, path: str, **headers: str) -> Any:
        return self("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self("POST", path, body, **headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self("PATCH", path, body, **headers)

    def put(self, path: str, body: Any = None, **headers: str) -> Any:
        return self("PUT", path, body, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self("DELETE", path, **headers)


def allow_management(app: Any) -> Any:
    """Let the client ``app`` obtain management-API tokens: it lists the built-in management
    API in its ``resources`` and may ask for the ``management`` scope."""
    app.resources = [*app.resources, MANAGEMENT]
    app.allowed_scopes = [*app.allowed_scopes, MANAGEMENT_SCOPE]
    app.save()
    return app


def management_token(http: Any, client_id: str, secret: str) -> str:
    """A client-credentials token for the management API (its audience and scope)."""
    return client_credentials_token(
        http, client_id, secret, scope=MANAGEMENT_SCOPE, resource=management_audience()
    )


def management_user_token(http: Any, web_client: tuple, username: str) -> str:
    """``username``'s token for the management API through ``web_client``'s code flow."""
    allow_management(web_client[0])
    tokens = user_tokens(
        http, web_client, username, scope=MANAGEMENT_SCOPE, resource=management_audience()
    )
    return tokens["access_token"]


@pytest.fixture
def caller(client, make_client):
    """Factory: ``caller(*permissions)`` -> an ``Api`` whose token is a management-API
    client-credentials token of a fresh client holding exactly those permissions through a
    role."""
    count = 0

    def make(*permissions: str, name: str | None = None) -> Api:
        nonlocal count
        count += 1
        name = name or f"caller{count}"
        role_services.role_create(actor=APPLY, name=f"{name}-role", permissions=permissions)
        app, secret = make_client(client_id=name, name=name)
        allow_management(app)
        role_services.client_roles_set(client=app, assignments=[AssignmentSpec(f"{name}-role")])
        forget_seeding()
        return Api(client, management_token(client, name, secret), (name, secret))

    return make


# Everything the tests hand out: the management permissions, the named permissions used in
# example roles, and every endpoint rule (``* /**`` covers them all).
ADMIN_PERMISSIONS = (*MANAGEMENT_PERMISSIONS, "orders:read", "orders:write", "* /**")


@pytest.fixture
def admin(caller):
    """A caller holding every permission the tests use."""
    return caller(*ADMIN_PERMISSIONS, name="admin")


@pytest.fixture
def person(client, web_client, make_user):
    """Factory: ``person(multi_factor=True)`` -> an ``Api`` whose token is a person's (``pat``,
    holding every permission the tests use), from the code flow of ``web_client`` after a
    sign-in through the real pages. With ``multi_factor`` the sign-in takes the TOTP step too:
    the token's ``auth_time`` is fresh and its ``amr`` has "mfa"; without, ``amr`` is ["pwd"]."""
    from tests.console.conftest import sign_in

    role_services.role_create(actor=APPLY, name="person-role", permissions=ADMIN_PERMISSIONS)
    user = make_user("pat")
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("person-role")])

    allow_management(web_client[0])

    def make(multi_factor: bool = True) -> Api:
        sign_in(client, user, multi_factor=multi_factor)
        tokens = user_tokens(
            client,
            web_client,
            user.username,
            scope=MANAGEMENT_SCOPE,
            login_first=False,
            resource=management_audience(),
        )
        return Api(client, tokens["access_token"])

    return make


@pytest.fixture
def token_holder(client, web_client, make_user):
    """Factory: a user with a code-flow token family of the ``webapp`` client."""

    def make(username: str) -> dict:
        make_user(username)
        return user_tokens(client, web_client, username, scope="openid offline_access")

    return make


def refresh_status(http, web_client, refresh_token: str) -> int:
    client, secret = web_client
    response = http.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    return response.status_code


@pytest.fixture
def anonymous(client):
    return Api(client, None)


def error_fields(problem: dict[str, Any]) -> dict[str | None, list[str]]:
    """A validation problem's ``errors`` list, ``[{field, detail}]``, as messages by field
    (None: the whole request); each entry has exactly those two members."""
    grouped: dict[str | None, list[str]] = {}
    for error in problem["errors"]:
        assert set(error) == {"field", "detail"}, error
        grouped.setdefault(error["field"], []).append(error["detail"])
    return grouped


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 body with our stable type URI, and no internals."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"https://authserver.dev/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and isinstance(body["detail"], str)
    text = response.content.decode()
    for leak in ("Traceback", 'File "', "SELECT ", "/work/", "site-packages"):
        assert leak not in text
    return body
