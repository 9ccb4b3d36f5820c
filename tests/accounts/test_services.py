"""User writes: each with its audit event, in one transaction."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import User
from core.actors import SystemActor
from core.request_meta import RequestMeta
from tests.atomic import AfterAudit, events, fail_after_audit

pytestmark = pytest.mark.django_db

OPERATOR = SystemActor("operator")
META = RequestMeta("192.0.2.10", "pytest-agent", "req-42")


def test_a_created_user_is_audited_with_actor_and_request_meta() -> None:
    services.user_create(actor=OPERATOR, meta=META, username="sam", email="sam@example.com")
    [event] = events("user.created")
    assert (event.actor, event.target) == ("operator", "sam")
    assert (event.ip, event.user_agent, event.request_id) == (
        "192.0.2.10",
        "pytest-agent",
        "req-42",
    )


def test_a_failure_after_the_audit_leaves_neither_user_nor_event(monkeypatch) -> None:
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.user_create(actor=OPERATOR, meta=META, username="sam")
    assert not User.objects.filter(username="sam").exists()
    assert events("user.created") == []


def test_an_update_that_fails_after_the_audit_changes_nothing(make_user, monkeypatch) -> None:
    user = make_user("sam", name="Sam")
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.user_update(actor=OPERATOR, user=User.objects.get(pk=user.pk), name="Samuel")
    assert User.objects.get(pk=user.pk).name == "Sam"
    assert events("user.updated") == []


def test_no_change_is_no_event(make_user) -> None:
    user = make_user("sam", name="Sam")
    assert services.user_update(actor=OPERATOR, user=user, name="Sam") is False
    assert events("user.updated") == []
