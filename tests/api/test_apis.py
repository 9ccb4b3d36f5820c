"""Registered APIs through the management API: list, register, read, change, delete; and
client resources."""

from __future__ import annotations

from audit.models import AuditEvent
from oauth.apis import management_audience
from oauth.models import Api, Client
from roles.access import CLIENTS_READ
from tests.api.conftest import assert_problem, error_fields
from tests.oauth.apis import ORDERS, register_api, tokens_for

ORDERS_SPEC = {
    "identifier": ORDERS,
    "name": "Orders API",
    "client": "orders-rs",
    "scopes": ["orders:read", "orders:write"],
    "access_token_lifetime": 300,
}


def test_register_read_change_and_delete_an_api(admin, make_client):
    make_client(client_id="orders-rs")
    created = admin.post("/api/v1/apis/", ORDERS_SPEC)
    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ORDERS_SPEC} == ORDERS_SPEC
    assert body["audience"] == ORDERS and body["builtin"] is False
    assert (body["clients"], body["live_access_tokens"], body["live_refresh_tokens"]) == ([], 0, 0)
    path = f"/api/v1/apis/{body['id']}/"
    assert admin.get(path).json() == body

    changed = admin.patch(path, {"name": "Orders", "client": None, "access_token_lifetime": None})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["client"]) == ("Orders", None)
    assert changed.json()["access_token_lifetime"] is None
    assert changed.json()["scopes"] == ORDERS_SPEC["scopes"]

    deleted = admin.delete(path)
    assert deleted.status_code == 204
    assert_problem(admin.get(path), 404, "not-found")
    events = AuditEvent.objects.filter(event__startswith="api.").order_by("id")
    assert [(e.event, e.actor) for e in events] == [
        ("api.created", "client:admin"),
        ("api.updated", "client:admin"),
        ("api.deleted", "client:admin"),
    ]


def test_the_list_is_paginated_and_says_what_uses_each_api(admin, make_client):
    for name in ("a", "b", "c"):
        register_api(f"https://{name}.example.test/", name=name.upper())
    make_client(client_id="billing", resources=["https://b.example.test/", "management"])
    first = admin.get("/api/v1/apis/?page_size=2").json()
    assert first["count"] == 4 and len(first["results"]) == 2 and first["next"]
    everything = admin.get("/api/v1/apis/?ordering=name&page_size=10").json()["results"]
    assert [a["name"] for a in everything] == ["A", "B", "C", "Management API"]
    by_identifier = {a["identifier"]: a for a in everything}
    assert by_identifier["https://b.example.test/"]["clients"] == ["billing"]
    assert by_identifier["https://a.example.test/"]["clients"] == []
    builtin = by_identifier["management"]
    # the caller's own client lists it too: it holds a management-API token
    assert builtin["builtin"] is True and builtin["clients"] == ["admin", "billing"]
    assert builtin["audience"] == management_audience()
    assert_problem(admin.get("/api/v1/apis/?ordering=client"), 400, "validation-error")


def test_invalid_input_is_a_problem_naming_the_field(admin):
    cases = [
        ({"identifier": "orders", "name": "O"}, "identifier"),
        ({"identifier": ORDERS}, "name"),
        ({"identifier": ORDERS, "name": "O", "client": "nobody"}, "client"),
        ({"identifier": ORDERS, "name": "O", "scopes": ["a b"]}, "scopes"),
        ({"identifier": ORDERS, "name": "O", "access_token_lifetime": 0}, "access_token_lifetime"),
        ({"identifier": ORDERS, "name": "O", "builtin": True}, "builtin"),
    ]
    for body, field in cases:
        problem = assert_problem(admin.post("/api/v1/apis/", body), 400, "validation-error")
        assert field in error_fields(problem), (body, problem)
    register_api()
    duplicate = admin.post("/api/v1/apis/", {"identifier": ORDERS, "name": "Again"})
    assert "identifier" in error_fields(assert_problem(duplicate, 400, "validation-error"))
    assert Api.objects.count() == 2  # the built-in and the first
    assert_problem(admin.patch("/api/v1/apis/999999/", {"name": "x"}), 404, "not-found")


def test_an_api_in_use_is_not_deleted_and_says_why(admin, code_flow):
    api = register_api()
    tokens_for(code_flow)
    path = f"/api/v1/apis/{api.pk}/"
    shown = admin.get(path).json()
    assert (shown["clients"], shown["live_access_tokens"], shown["live_refresh_tokens"]) == (
        ["webapp"],
        1,
        1,
    )
    problem = assert_problem(admin.delete(path), 400, "validation-error")
    message = " ".join(error_fields(problem)[None])
    assert "webapp list it in their resources" in message and "1 live access token" in message
    renamed = admin.patch(path, {"identifier": "https://elsewhere.example.test/"})
    assert "identifier" in error_fields(assert_problem(renamed, 400, "validation-error"))
    assert Api.objects.get(pk=api.pk).identifier == ORDERS


def test_the_builtin_management_api_is_renamed_but_never_deleted(admin):
    builtin = Api.objects.get(identifier="management")
    path = f"/api/v1/apis/{builtin.pk}/"
    shown = admin.get(path).json()
    same = {k: shown[k] for k in ("identifier", "client", "scopes", "access_token_lifetime")}
    renamed = admin.patch(path, {**same, "name": "Admin API"})  # what it read, renamed
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Admin API"
    moved = admin.patch(path, {"client": "admin"})
    assert error_fields(assert_problem(moved, 400, "validation-error")) == {
        "client": ["the built-in management API keeps it"]
    }
    assert_problem(admin.delete(path), 400, "validation-error")
    assert Api.objects.filter(pk=builtin.pk).exists()


def test_reading_apis_needs_clients_read_and_writing_clients_write(caller):
    reader = caller(CLIENTS_READ)
    assert reader.get("/api/v1/apis/").status_code == 200
    refused = reader.post("/api/v1/apis/", {"identifier": ORDERS, "name": "Orders"})
    assert_problem(refused, 403, "permission-denied")
    builtin = Api.objects.get(identifier="management")
    assert_problem(reader.delete(f"/api/v1/apis/{builtin.pk}/"), 403, "permission-denied")
    assert_problem(caller("users:read").get("/api/v1/apis/"), 403, "permission-denied")
    assert not Api.objects.filter(identifier=ORDERS).exists()


def test_client_resources_are_written_and_shown(admin):
    register_api()
    created = admin.post(
        "/api/v1/clients/",
        {"client_id": "billing", "grant_types": ["client_credentials"], "resources": [ORDERS]},
    )
    assert created.status_code == 201, created.content
    assert created.json()["resources"] == [ORDERS]
    unknown = admin.patch(
        "/api/v1/clients/billing/", {"resources": ["management", "https://unknown.example/"]}
    )
    assert error_fields(assert_problem(unknown, 400, "validation-error")) == {
        "resources": ["not a registered API: https://unknown.example/"]
    }
    changed = admin.patch("/api/v1/clients/billing/", {"resources": ["management"]})
    assert changed.json()["resources"] == ["management"]
    assert Client.objects.get(client_id="billing").resources == ["management"]
    assert admin.get("/api/v1/clients/billing/").json()["resources"] == ["management"]
