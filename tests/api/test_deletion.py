"""DELETE of clients and users: 204, audited, their tokens and sessions end, refusals are
problems that leave everything as it was."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model

from accounts.models import User
from audit.models import AuditEvent
from core.actors import APPLY
from oauth.models import Client
from roles import services as role_services
from roles.decisions import principal_for_token
from tests.api.conftest import assert_problem, refresh_status
from tests.oauth.apis import ORDERS, register_api
from tests.roles.conftest import client_credentials_token

pytestmark = pytest.mark.django_db


def test_deleting_a_user_ends_their_tokens_and_is_audited(admin, token_holder, web_client):
    tokens = token_holder("tess")
    assert principal_for_token(tokens["access_token"]) is not None
    response = admin.delete("/api/v1/users/tess/")
    assert response.status_code == 204 and response.content == b""
    assert not User.objects.filter(username="tess").exists()
    assert principal_for_token(tokens["access_token"]) is None
    assert refresh_status(admin.http, web_client, tokens["refresh_token"]) == 400
    assert not get_access_token_model().objects.filter(user__username="tess").exists()
    event = AuditEvent.objects.get(event="user.deleted")
    assert (event.actor, event.target, event.outcome) == ("client:admin", "tess", "success")
    assert "oauth2_provider.AccessToken: 1" in event.data["removed"]
    assert "accounts.User: 1" in event.data["removed"]
    assert_problem(admin.get("/api/v1/users/tess/"), 404, "not-found")
    assert_problem(admin.delete("/api/v1/users/tess/"), 404, "not-found")


def test_deleting_a_client_ends_its_tokens_and_is_audited(admin, make_client):
    app, secret = make_client(client_id="batch", scopes=["orders:read"])
    token = client_credentials_token(admin.http, "batch", secret)
    assert principal_for_token(token) is not None
    assert admin.delete("/api/v1/clients/batch/").status_code == 204
    assert not Client.objects.filter(client_id="batch").exists()
    assert principal_for_token(token) is None  # a row-less client-credentials token too
    event = AuditEvent.objects.get(event="client.deleted")
    assert (event.actor, event.target) == ("client:admin", "batch")
    assert "oauth.Client: 1" in event.data["removed"]
    assert admin.get("/api/v1/clients/batch/").json()["detail"] == "Client 'batch' not found."


def test_a_caller_cannot_delete_itself(admin, person):
    problem = assert_problem(admin.delete("/api/v1/clients/admin/"), 403, "permission-denied")
    assert "admin" in problem["detail"]
    assert Client.objects.filter(client_id="admin").exists()
    pat = person()
    assert_problem(pat.delete("/api/v1/users/pat/"), 403, "permission-denied")
    assert User.objects.filter(username="pat").exists()
    # a person's token is also bound to the client it was issued to
    assert_problem(pat.delete("/api/v1/clients/webapp/"), 403, "permission-denied")
    assert Client.objects.filter(client_id="webapp").exists()
    assert not AuditEvent.objects.filter(event__in=["user.deleted", "client.deleted"]).exists()


def test_the_client_of_a_registered_api_is_not_deleted(admin, make_client):
    make_client(client_id="orders-rs")
    register_api(ORDERS, client="orders-rs")
    problem = assert_problem(admin.delete("/api/v1/clients/orders-rs/"), 400, "validation-error")
    assert ORDERS in problem["detail"]
    assert Client.objects.filter(client_id="orders-rs").exists()


def test_deleting_needs_the_write_permission_and_every_permission_held(caller, make_user):
    from roles.services import AssignmentSpec

    reader = caller("users:read", "clients:read")
    make_user("vic")
    assert_problem(reader.delete("/api/v1/users/vic/"), 403, "permission-denied")
    assert_problem(reader.delete("/api/v1/clients/caller1/"), 403, "permission-denied")
    writer = caller("users:write", "clients:write")
    boss = make_user("boss")
    role_services.role_create(actor=APPLY, name="auditors", permissions=["audit:read"])
    role_services.user_roles_set(user=boss, assignments=[AssignmentSpec("auditors")])
    assert_problem(writer.delete("/api/v1/users/boss/"), 403, "privilege-escalation")
    assert User.objects.filter(username__in=["vic", "boss"]).count() == 2
    assert writer.delete("/api/v1/users/vic/").status_code == 204
