"""API keys in the console: the list, creating a key (shown once), revoking with a confirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import services as key_services
from apikeys.models import ApiKey
from audit.models import AuditEvent
from core.actors import APPLY
from roles import services as role_services
from tests.console.conftest import sign_in, text


@pytest.fixture
def deployer(db):
    return role_services.role_create(actor=APPLY, name="deployer", permissions=["deploy:run"])


@pytest.fixture
def holder(admin, grant_roles, deployer):
    """The admin holds what the deployer role grants, so they may hand it to a key."""
    grant_roles(admin, "deploy:run")
    return admin


def form(owner="dana", **extra):
    expires = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    return {
        "owner_type": "user",
        "owner": owner,
        "name": "ci-deploy",
        "roles": ["deployer"],
        "expires_at": expires,
        **extra,
    }


def test_a_new_key_is_shown_once_and_stored_hashed(console, holder, make_user):
    dana = make_user("dana")
    response = console.post("/console/api-keys/new/", form())
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("ask_") and secret in text(response)
    assert "It is shown only this once" in text(response)
    key = ApiKey.objects.get(user=dana, name="ci-deploy")
    assert secret.removeprefix(f"ask_{key.key_id}_") not in key.secret_hash
    assert list(key.role_assignments.values_list("role__name", flat=True)) == ["deployer"]
    [event] = AuditEvent.objects.filter(event="api_key.created")
    assert (event.actor, event.target, event.ip) == ("root", f"api_key:{key.key_id}", "127.0.0.1")
    listing = text(console.get("/console/api-keys/"))
    assert f"ask_{key.key_id}_…" in listing and secret not in listing
    assert "deployer" in listing and "Active" in listing
    assert "no-store" in response["Cache-Control"]


def test_a_key_for_a_service(console, holder, make_client):
    service, _ = make_client(client_id="builder", name="Builder")
    response = console.post("/console/api-keys/new/", form(owner_type="client", owner="builder"))
    assert "client builder" in text(response)
    assert ApiKey.objects.filter(client=service, name="ci-deploy").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": "nobody"}, "No user with the username"),
        ({"name": "bad/name"}, "Letters, digits, spaces"),
        ({"expires_at": "2001-01-01T00:00"}, "must be in the future"),
        ({"roles": ["payroll"]}, "carries permissions you do not hold yourself: payroll:approve"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(console, holder, make_user, change, message):
    make_user("dana")
    role_services.role_create(actor=APPLY, name="payroll", permissions=["payroll:approve"])
    response = console.post("/console/api-keys/new/", form(**change))
    assert response.status_code == 200
    assert message in text(response)
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(event="api_key.created").exists()


def test_a_second_live_key_of_the_same_name_is_refused(console, holder, make_user):
    make_user("dana")
    console.post("/console/api-keys/new/", form())
    response = console.post("/console/api-keys/new/", form())
    assert "already has a live key with this name" in text(response)
    assert ApiKey.objects.count() == 1


def test_the_list_filters_by_owner(console, make_user, make_client):
    key_services.api_key_create(actor=APPLY, user=make_user("dana"), name="one")
    service, _ = make_client(client_id="builder", name="Builder")
    key_services.api_key_create(actor=APPLY, client=service, name="two")
    page = text(console.get("/console/api-keys/", {"owner": "build"}))
    assert ">two<" in page and ">one<" not in page
    page = text(console.get("/console/api-keys/", {"owner": "dan"}))
    assert ">one<" in page and ">two<" not in page


def test_revoking_asks_first_then_revokes_and_audits(console, make_user):
    key, secret = key_services.api_key_create(actor=APPLY, user=make_user("dana"), name="old")
    path = f"/console/api-keys/{key.pk}/revoke/"
    confirm = text(console.get(path))
    assert "Revoke API key old?" in confirm and "stops working at once" in confirm
    key.refresh_from_db()
    assert key.revoked_at is None  # the GET changed nothing
    response = console.post(path, follow=True)
    assert "API key old revoked." in text(response)
    key.refresh_from_db()
    assert key.revoked_at is not None
    [event] = AuditEvent.objects.filter(event="api_key.revoked")
    assert (event.actor, event.data["via"]) == ("root", "console")
    assert "Revoked" in text(console.get("/console/api-keys/"))


def test_reading_keys_does_not_allow_creating_or_revoking(client, make_user, grant_roles):
    key, _ = key_services.api_key_create(actor=APPLY, user=make_user("dana"), name="old")
    reader = make_user("rita")
    grant_roles(reader, "console:access", "tokens:read")
    sign_in(client, reader)
    assert client.get("/console/api-keys/").status_code == 200
    assert client.get("/console/api-keys/new/").status_code == 403
    assert client.post(f"/console/api-keys/{key.pk}/revoke/").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_nobody_revokes_the_key_of_a_stronger_account(client, admin, make_user, grant_roles):
    key, _ = key_services.api_key_create(actor=APPLY, user=admin, name="root-key")
    operator = make_user("olly")
    grant_roles(operator, "console:access", "tokens:read", "tokens:write")
    sign_in(client, operator)
    response = client.post(f"/console/api-keys/{key.pk}/revoke/", follow=True)
    assert "carries permissions you do not hold yourself" in text(response)
    key.refresh_from_db()
    assert key.revoked_at is None
