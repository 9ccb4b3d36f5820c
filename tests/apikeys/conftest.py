"""Fixtures for API-key tests: roles and owners, keys made through the services, and the calls a
key holder or a resource server makes."""

from __future__ import annotations

from typing import Any

import pytest

from apikeys import exchange, services
from core.actors import APPLY, SystemActor
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.conftest import basic_auth
from tests.roles.conftest import make_role, pdp_caller, post_json  # noqa: F401 (shared fixtures)


@pytest.fixture
def catalogue(db):
    """reader < editor < admin, each with a named permission and endpoint rules."""
    role_services.role_create(
        actor=APPLY, name="reader", permissions=["orders:read", "GET /api/orders/**"]
    )
    role_services.role_create(
        actor=APPLY,
        name="editor",
        parents=["reader"],
        permissions=["orders:write", "POST /api/orders"],
    )
    role_services.role_create(
        actor=APPLY, name="admin", parents=["editor"], permissions=["* /api/admin/**"]
    )


@pytest.fixture
def alice(make_user, catalogue):
    """A user holding ``editor``."""
    user = make_user("alice")
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("editor")])
    return user


@pytest.fixture
def service(make_client, catalogue):
    """A client ``svc`` holding ``editor``: (client, secret)."""
    client, secret = make_client(client_id="svc", name="Service")
    role_services.client_roles_set(client=client, assignments=[AssignmentSpec("editor")])
    return client, secret


@pytest.fixture
def make_key(db):
    """Factory: ``make_key(user=... | client=..., **fields)`` -> (ApiKey, full key)."""

    def make(name: str = "ci", **fields: Any):
        return services.api_key_create(name=name, actor=SystemActor("test"), **fields)

    return make


@pytest.fixture
def introspect(client, resource_server):
    """POST to /o/introspect/ as the resource server; returns the JSON body."""
    rs, secret = resource_server

    def call(token: str) -> dict[str, Any]:
        response = client.post(
            "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret)
        )
        assert response.status_code == 200, response.content
        return response.json()

    return call


def exchange_request(http, key: str, *, remote_addr: str = "127.0.0.1", **params: str):
    data = {
        "grant_type": exchange.GRANT_TYPE,
        "subject_token": key,
        "subject_token_type": exchange.API_KEY_TOKEN_TYPE,
        **params,
    }
    return http.post("/o/token/", data, REMOTE_ADDR=remote_addr)


@pytest.fixture
def ask(client, pdp_caller):  # noqa: F811 (the shared fixture imported above)
    """AuthZEN evaluation of a ``token`` subject as the PDP caller asks it; ``ip_address``: where
    the holder is, as the caller states it. Returns the decision."""
    gateway, secret = pdp_caller

    def call(token: str, method: str, path: str, ip_address: str | None = None) -> bool:
        subject = {"type": "token", "id": token}
        if ip_address is not None:
            subject["properties"] = {"ip_address": ip_address}
        body = {
            "subject": subject,
            "action": {"name": method},
            "resource": {"type": "route", "id": path},
        }
        response = post_json(
            client,
            "/access/v1/evaluation",
            body,
            HTTP_AUTHORIZATION=basic_auth(gateway.client_id, secret),
        )
        assert response.status_code == 200, response.content
        return response.json()["decision"]

    return call
