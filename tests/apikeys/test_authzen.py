"""API keys (and tokens exchanged for them) as AuthZEN ``token`` subjects."""

from __future__ import annotations

from apikeys import services
from core.actors import APPLY
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.apikeys.conftest import exchange_request
from tests.conftest import basic_auth
from tests.roles.conftest import post_json


def test_key_subject(ask, alice, make_key) -> None:
    _key, full = make_key(user=alice, roles=["reader"])
    assert ask(full, "GET", "/api/orders/1") is True
    assert ask(full, "POST", "/api/orders") is False  # alice may, the key may not
    assert ask(full, "DELETE", "/api/admin/users/1") is False


def test_key_bounded_by_owner_and_live(ask, alice, make_key) -> None:
    key, full = make_key(user=alice, roles=["admin"])
    assert ask(full, "POST", "/api/orders") is True
    assert ask(full, "GET", "/api/admin/users") is False  # alice is no admin
    role_services.user_roles_set(user=alice, assignments=[AssignmentSpec("reader")])
    assert ask(full, "POST", "/api/orders") is False
    services.api_key_revoke(actor=APPLY, key=key)
    assert ask(full, "GET", "/api/orders/1") is False


def test_exchanged_token_subject_keeps_the_key_grant(client, ask, alice, make_key) -> None:
    _key, full = make_key(user=alice, roles=["reader"])
    token = exchange_request(client, full).json()["access_token"]
    assert ask(token, "GET", "/api/orders/1") is True
    assert ask(token, "POST", "/api/orders") is False


def test_a_key_is_not_a_caller_credential(client, pdp_caller, service, make_key) -> None:
    svc, _secret = service
    role_services.client_roles_set(
        client=svc, assignments=[AssignmentSpec("pdp-caller"), AssignmentSpec("editor")]
    )
    _key, full = make_key(client=svc, roles=["pdp-caller"])
    response = post_json(
        client,
        "/access/v1/evaluation",
        {"subject": {"type": "user", "id": "x"}, "action": {"name": "GET"}, "resource": {}},
        HTTP_AUTHORIZATION=f"Bearer {full}",
    )
    assert response.status_code == 401


def test_an_ip_bound_key_needs_its_holders_address(client, ask, pdp_caller, alice, make_key):
    """The PDP's caller asks on the holder's behalf: it states where the holder is in
    ``subject.properties.ip_address`` (AuthZEN's own example property), else the key is denied."""
    _key, full = make_key(user=alice, roles=["reader"], allowed_ips=["192.0.2.0/24"])
    assert ask(full, "GET", "/api/orders/1") is False
    assert ask(full, "GET", "/api/orders/1", ip_address="203.0.113.1") is False
    assert ask(full, "GET", "/api/orders/1", ip_address="192.0.2.1") is True
    gateway, secret = pdp_caller
    bad = post_json(
        client,
        "/access/v1/evaluation",
        {
            "subject": {"type": "token", "id": full, "properties": {"ip_address": 3232235521}},
            "action": {"name": "GET"},
            "resource": {"type": "route", "id": "/api/orders/1"},
        },
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, secret),
    )
    assert bad.status_code == 400 and "ip_address" in bad.json()["detail"]
