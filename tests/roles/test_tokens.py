"""Roles in access tokens, ID tokens, userinfo and introspection; require_mfa refusals."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc8628.errors import AccessDenied as DeviceAccessDenied

from core.actors import APPLY
from oauth import tokens
from oauth.device import attach_device_context
from oauth.models import GRANT_DEVICE_CODE
from roles import services
from roles.models import Role
from roles.services import AssignmentSpec
from tests.conftest import basic_auth
from tests.roles.conftest import authorize, client_credentials_token, user_tokens


@pytest.fixture
def catalogue(make_role):
    make_role("reader", permissions=["orders:read", "GET /api/orders/**"])
    make_role("editor", parents=["reader"], permissions=["POST /api/orders"])
    make_role("admin", parents=["editor"], permissions=["* /api/**"], require_mfa=True)


@pytest.fixture
def alice(make_user, catalogue):
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("editor")])
    return user


def introspect(http, resource_server, token: str) -> dict:
    client, secret = resource_server
    response = http.post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200
    return response.json()


def test_user_access_token_carries_effective_roles(client, alice, roles_web_client) -> None:
    access = user_tokens(client, roles_web_client, "alice")["access_token"]
    assert tokens.unverified_claims(access)["roles"] == ["editor", "reader"]


def test_client_credentials_token_carries_the_clients_roles(client, catalogue, make_client):
    svc, secret = make_client(client_id="svc")
    services.client_roles_set(client=svc, assignments=[AssignmentSpec("reader")])
    access = client_credentials_token(client, "svc", secret)
    assert tokens.unverified_claims(access)["roles"] == ["reader"]


def test_id_token_and_userinfo_carry_roles_with_the_roles_scope(
    client, alice, roles_web_client
) -> None:
    issued = user_tokens(client, roles_web_client, "alice", scope="openid roles")
    assert tokens.unverified_claims(issued["id_token"])["roles"] == ["editor", "reader"]
    info = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    assert info.status_code == 200
    assert info.json()["roles"] == ["editor", "reader"]


def test_no_roles_in_id_token_or_userinfo_without_the_scope(client, alice, roles_web_client):
    issued = user_tokens(client, roles_web_client, "alice", scope="openid profile")
    assert "roles" not in tokens.unverified_claims(issued["id_token"])
    info = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    assert "roles" not in info.json()


def test_introspection_of_a_user_token_adds_roles_and_permissions(
    client, alice, roles_web_client, resource_server
) -> None:
    access = user_tokens(client, roles_web_client, "alice")["access_token"]
    result = introspect(client, resource_server, access)
    assert result["active"] is True
    assert result["username"] == "alice"
    assert result["roles"] == ["editor", "reader"]
    assert result["permissions"] == ["GET /api/orders/**", "POST /api/orders", "orders:read"]


def test_introspection_of_a_client_token_adds_the_clients_roles(
    client, catalogue, make_client, resource_server
) -> None:
    svc, secret = make_client(client_id="svc")
    services.client_roles_set(client=svc, assignments=[AssignmentSpec("reader")])
    result = introspect(client, resource_server, client_credentials_token(client, "svc", secret))
    assert result["roles"] == ["reader"]
    assert result["permissions"] == ["GET /api/orders/**", "orders:read"]


def test_introspection_sees_a_role_change_on_the_next_request(
    client, alice, roles_web_client, resource_server
) -> None:
    access = user_tokens(client, roles_web_client, "alice")["access_token"]
    assert "orders:export" not in introspect(client, resource_server, access)["permissions"]
    services.role_update(
        actor=APPLY,
        role=Role.objects.get(name="reader"),
        permissions=["orders:read", "orders:export"],
    )
    assert "orders:export" in introspect(client, resource_server, access)["permissions"]


def test_warm_introspection_runs_no_roles_query(
    client, alice, roles_web_client, resource_server
) -> None:
    access = user_tokens(client, roles_web_client, "alice")["access_token"]
    introspect(client, resource_server, access)
    with CaptureQueriesContext(connection) as queries:
        introspect(client, resource_server, access)
    tables = " ".join(q["sql"] for q in queries)
    assert "roles_" not in tables
    assert len(queries) == 1  # the generation counters (the tests' "poll" mode); the row is cached


def test_inactive_token_introspects_without_roles(client, resource_server) -> None:
    assert introspect(client, resource_server, "not-a-token") == {"active": False}


def test_a_user_holding_a_require_mfa_role_gets_no_code_without_mfa(
    client, make_user, catalogue, roles_web_client
):
    bob = make_user("bob")
    services.user_roles_set(user=bob, assignments=[AssignmentSpec("admin")])
    response = authorize(client, "bob")
    # the password alone does not sign bob in (he must enrol a second factor): no code
    assert response.status_code == 302
    assert "code=" not in response["Location"]
    assert response["Location"].startswith(("/accounts/login/", "/mfa/"))


def test_a_require_mfa_role_gained_after_sign_in_stops_refreshes(
    client, make_user, catalogue, make_client
):
    offline, secret = make_client(
        client_id="offline",
        name="Offline",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["https://app.example.com/callback"],
        scopes=["openid", "offline_access"],
        skip_consent=True,
    )
    bob = make_user("bob")
    issued = user_tokens(client, (offline, secret), "bob", scope="openid offline_access")
    services.user_roles_set(user=bob, assignments=[AssignmentSpec("admin")])
    response = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth("offline", secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_device_grant_refuses_a_require_mfa_user(make_user, catalogue, make_client) -> None:
    device_client, _ = make_client(client_id="tv", grant_types=[GRANT_DEVICE_CODE])
    bob = make_user("bob")
    services.user_roles_set(user=bob, assignments=[AssignmentSpec("admin")])
    request = OAuthlibRequest("https://as.example/o/token/")
    request.user, request.client = bob, device_client
    with pytest.raises(DeviceAccessDenied):
        attach_device_context(request)
