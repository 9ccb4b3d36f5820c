"""API-key writes: the key and its audit event commit or roll back together."""

from __future__ import annotations

import pytest

from apikeys import services
from apikeys.models import ApiKey
from core.actors import SystemActor
from tests.atomic import AfterAudit, events, fail_after_audit

pytestmark = pytest.mark.django_db


def test_a_key_that_fails_after_the_audit_is_not_stored(make_user, monkeypatch) -> None:
    user = make_user("sam")
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.api_key_create(actor=SystemActor("operator"), user=user, name="laptop")
    assert not ApiKey.objects.filter(user=user).exists()
    assert events("api_key.created") == []


def test_a_revocation_that_fails_after_the_audit_leaves_the_key_live(
    make_key, make_user, monkeypatch
) -> None:
    key, _ = make_key(user=make_user("sam"))
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.api_key_revoke(actor=SystemActor("operator"), key=key, via="test")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert events("api_key.revoked") == []
