"""Clients: create (secret shown once), update, rotate the secret, and the guards."""

from __future__ import annotations

from oauth.models import Client
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.api.conftest import assert_problem, error_fields
from tests.conftest import basic_auth


def token_status(http, client_id: str, secret: str) -> int:
    response = http.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )
    return response.status_code


def test_create_shows_the_secret_once_and_it_works(admin):
    created = admin.post(
        "/api/v1/clients/",
        {"client_id": "billing", "name": "Billing", "grant_types": ["client_credentials"]},
    )
    assert created.status_code == 201, created.content
    secret = created.json()["client_secret"]
    assert secret and created.json()["has_secret"] is True
    shown = admin.get("/api/v1/clients/billing/")
    assert "client_secret" not in shown.json() and secret not in shown.content.decode()
    assert secret not in admin.get("/api/v1/clients/").content.decode()
    assert Client.objects.get(client_id="billing").client_secret != secret  # stored hashed
    assert token_status(admin.http, "billing", secret) == 200


def test_rotation_replaces_the_secret_at_once(admin, make_client):
    _, old = make_client(client_id="worker")
    rotated = admin.post("/api/v1/clients/worker/secret/")
    assert rotated.status_code == 200
    new = rotated.json()["client_secret"]
    assert new != old
    assert token_status(admin.http, "worker", old) == 401
    assert token_status(admin.http, "worker", new) == 200


def test_public_client_has_no_secret_to_rotate(admin):
    created = admin.post(
        "/api/v1/clients/",
        {
            "client_id": "spa",
            "type": "public",
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://spa.example.com/cb"],
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["client_secret"] is None
    assert_problem(admin.post("/api/v1/clients/spa/secret/"), 400, "validation-error")


def test_update_validates_redirect_uris_and_refuses_unknown_fields(admin, make_client):
    make_client(client_id="web")
    bad = admin.patch(
        "/api/v1/clients/web/",
        {"grant_types": ["authorization_code"], "redirect_uris": ["http://evil.example/cb"]},
    )
    assert "redirect_uris" in error_fields(assert_problem(bad, 400, "validation-error"))
    for body in ({"client_secret": "chosen"}, {"client_type": "public"}, {"user": 1}):
        assert_problem(admin.patch("/api/v1/clients/web/", body), 400, "validation-error")
    ok = admin.patch("/api/v1/clients/web/", {"name": "Web", "is_active": False})
    assert ok.status_code == 200 and ok.json()["is_active"] is False
    assert ok.json()["client_secret"] is None


def test_bad_jwks_is_400_not_500(admin):
    created = admin.post(
        "/api/v1/clients/",
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": "nope"}},
    )
    assert "jwks" in error_fields(assert_problem(created, 400, "validation-error"))


def test_writer_cannot_rotate_or_edit_a_client_that_outranks_it(caller, make_client, make_role):
    writer = caller("clients:read", "clients:write")
    make_role("ops", permissions=["users:write"])
    strong, secret = make_client(client_id="strong")
    role_services.client_roles_set(client=strong, assignments=[AssignmentSpec("ops")])
    assert_problem(writer.post("/api/v1/clients/strong/secret/"), 403, "privilege-escalation")
    assert_problem(
        writer.patch("/api/v1/clients/strong/", {"name": "x"}), 403, "privilege-escalation"
    )
    assert token_status(writer.http, "strong", secret) == 200
    assert_problem(writer.get("/api/v1/clients/nope/"), 404, "not-found")
