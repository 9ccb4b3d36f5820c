"""API keys through the management API: create (shown once), list (prefix only), revoke."""

from __future__ import annotations

import pytest

from core.actors import APPLY
from roles import services as role_services
from tests.api.conftest import assert_problem
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_client):
    role_services.role_create(actor=APPLY, name="orders-reader", permissions=["orders:read"])
    return make_client(client_id="svc", name="Service")


def introspect(http, resource_server, key):
    rs, secret = resource_server
    return http.post(
        "/o/introspect/", {"token": key}, HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret)
    ).json()


def test_create_list_and_revoke_a_client_key(client, admin, owner, resource_server):
    created = admin.post(
        "/api/v1/clients/svc/api-keys/", {"name": "ci", "roles": ["orders-reader"]}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    key = body["key"]
    assert key.startswith(body["prefix"]) and body["roles"] == ["orders-reader"]
    assert introspect(client, resource_server, key)["active"] is True

    listed = admin.get("/api/v1/clients/svc/api-keys/").json()
    assert listed["count"] == 1
    assert [row["key_id"] for row in listed["results"]] == [body["key_id"]]
    assert key not in str(listed) and "hash" not in str(listed)

    assert admin.delete(f"/api/v1/clients/svc/api-keys/{body['key_id']}/").status_code == 204
    assert introspect(client, resource_server, key) == {"active": False}


def test_user_keys_and_another_owners_key_is_404(admin, owner, make_user):
    make_user("alice")
    make_user("bob")
    made = admin.post("/api/v1/users/alice/api-keys/", {"name": "laptop"}).json()
    assert admin.get("/api/v1/users/alice/api-keys/").json()["results"][0]["name"] == "laptop"
    wrong_owner = admin.delete(f"/api/v1/users/bob/api-keys/{made['key_id']}/")
    assert_problem(wrong_owner, 404, "not-found")
    assert_problem(admin.delete("/api/v1/users/alice/api-keys/nope/"), 404, "not-found")


def test_keys_need_token_permissions_and_cannot_carry_more_than_the_caller(caller, owner):
    reader = caller("tokens:read", name="reader")
    assert reader.get("/api/v1/clients/svc/api-keys/").status_code == 200
    assert_problem(
        reader.post("/api/v1/clients/svc/api-keys/", {"name": "x"}), 403, "permission-denied"
    )
    writer = caller("tokens:write", "tokens:read", name="writer")
    escalation = writer.post(
        "/api/v1/clients/svc/api-keys/", {"name": "x", "roles": ["orders-reader"]}
    )
    assert_problem(escalation, 403, "privilege-escalation")


def test_bad_input_is_a_problem_not_a_key(admin, owner):
    for body in ({}, {"name": "ok", "is_superuser": True}, {"name": "ok", "roles": ["nope"]}):
        response = admin.post("/api/v1/clients/svc/api-keys/", body)
        assert response.status_code == 400, (body, response.content)
        assert response["Content-Type"] == "application/problem+json"
