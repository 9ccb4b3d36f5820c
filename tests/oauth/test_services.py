"""Client, token and session writes: each with its audit event, in one transaction; disabling
a user (accounts' change, oauth's sessions) commits or rolls back as one."""

from __future__ import annotations

import pytest

from accounts.models import User
from core.actors import SystemActor
from oauth import api_services, services
from oauth.models import Api, Client
from tests.atomic import AfterAudit, events, fail_after_audit

pytestmark = pytest.mark.django_db

OPERATOR = SystemActor("operator")
SPEC = {"client_id": "shop", "name": "Shop", "grant_types": ["client_credentials"]}


def test_a_created_client_is_audited() -> None:
    client, secret = services.client_create(actor=OPERATOR, spec=dict(SPEC))
    assert secret and client.client_id == "shop"
    [event] = events("client.created")
    assert (event.actor, event.target) == ("operator", "shop")


def test_a_failure_after_the_audit_leaves_neither_client_nor_event(monkeypatch) -> None:
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.client_create(actor=OPERATOR, spec=dict(SPEC))
    assert not Client.objects.filter(client_id="shop").exists()
    assert events("client.created") == []


def test_a_rotation_that_fails_after_the_audit_keeps_the_old_secret(monkeypatch) -> None:
    client, _ = services.client_create(actor=OPERATOR, spec=dict(SPEC))
    stored = Client.objects.get(pk=client.pk).client_secret
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.client_rotate_secret(actor=OPERATOR, client=Client.objects.get(pk=client.pk))
    assert Client.objects.get(pk=client.pk).client_secret == stored
    assert events("client.secret_rotated") == []


def test_disabling_a_user_whose_sessions_cannot_end_changes_nothing(make_user, monkeypatch) -> None:
    user = make_user("sam")

    def broken(user: User) -> None:
        raise AfterAudit

    monkeypatch.setattr(services, "user_sessions_end", broken)
    with pytest.raises(AfterAudit):
        services.user_set_active(actor=OPERATOR, user=user, active=False)
    assert User.objects.get(pk=user.pk).is_active
    assert events("user.disabled") == []


def test_disabling_a_user_is_audited_once(make_user) -> None:
    user = make_user("sam")
    services.user_set_active(actor=OPERATOR, user=user, active=False)
    services.user_set_active(actor=OPERATOR, user=user, active=False)  # no change, no event
    assert not User.objects.get(pk=user.pk).is_active
    assert [e.target for e in events("user.disabled")] == ["sam"]


def test_an_api_that_fails_after_the_audit_is_not_registered(monkeypatch) -> None:
    fail_after_audit(monkeypatch, api_services)
    spec = {"identifier": "https://orders.example.test/", "name": "Orders"}
    with pytest.raises(AfterAudit):
        api_services.api_create(actor=OPERATOR, spec=spec)
    assert not Api.objects.filter(identifier=spec["identifier"]).exists()
    assert events("api.created") == []
