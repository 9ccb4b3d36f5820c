"""An administrator's MFA reset and unlock: the change and its audit event are one."""

from __future__ import annotations

import pytest

from core.actors import SystemActor
from mfa import services
from mfa.models import Authenticator
from tests.atomic import AfterAudit, events, fail_after_audit

pytestmark = pytest.mark.django_db

OPERATOR = SystemActor("operator")


def test_a_reset_that_fails_after_the_audit_keeps_the_factors(make_user, monkeypatch) -> None:
    user = make_user("sam")
    services.authenticator_totp_provision(user=user)
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.authenticators_reset(actor=OPERATOR, user=user)
    assert Authenticator.objects.filter(user=user).exists()
    assert events("mfa.reset") == []


def test_a_reset_is_audited_with_what_it_removed(make_user) -> None:
    user = make_user("sam")
    services.authenticator_totp_provision(user=user)
    assert services.authenticators_reset(actor=OPERATOR, user=user) == ["totp"]
    [event] = events("mfa.reset")
    assert (event.actor, event.target, event.data) == ("operator", "sam", {"factors": ["totp"]})
    assert services.authenticators_reset(actor=OPERATOR, user=user) == []  # nothing: no event
    assert len(events("mfa.reset")) == 1
