"""Applications holding access (revoke ends it at once) and the user's recent security events."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from audit.models import AuditEvent
from audit.services import record
from tests.conftest import introspect, login
from tests.selfservice.conftest import refresh_answer

pytestmark = pytest.mark.django_db


def test_an_application_is_listed_with_its_scopes(desktop, code_flow_tokens):
    code_flow_tokens(desktop, scope="openid profile offline_access")
    body = desktop.get("/account/applications/").content.decode()
    assert 'data-client="webapp"' in body and "Web App" in body
    assert re.findall(r"<code>([a-z_]+)</code>", body) == ["offline_access", "openid", "profile"]


def test_no_application_yet(desktop):
    body = desktop.get("/account/applications/").content.decode()
    assert "No application has access to your account." in body


def test_revoking_an_application_ends_its_tokens_at_once(
    desktop, alice, code_flow_tokens, web_client, resource_server
):
    tokens = code_flow_tokens(desktop)
    client = web_client[0]
    response = desktop.post(f"/account/applications/{client.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/applications/"
    assert refresh_answer(desktop, web_client, tokens["refresh_token"])["error"] == "invalid_grant"
    assert introspect(desktop, resource_server, tokens["access_token"]) == {"active": False}
    assert not get_access_token_model().objects.filter(user=alice).exists()
    assert not get_refresh_token_model().objects.filter(user=alice, revoked__isnull=True).exists()
    event = AuditEvent.objects.get(event="application.revoked")
    assert event.actor == "alice" and event.target == "user:alice" and event.client_id == "webapp"
    assert event.data == {"refresh": 1, "access": 1, "grants": 0}
    body = desktop.get("/account/applications/").content.decode()
    assert "Web App no longer has access to your account." in body
    assert 'data-client="webapp"' not in body
    # Nothing left to revoke: the same request finds nothing of this user's.
    assert desktop.post(f"/account/applications/{client.pk}/revoke/").status_code == 404


def test_revoking_needs_a_recent_sign_in(desktop, code_flow_tokens, web_client, stale_sign_in):
    tokens = code_flow_tokens(desktop)
    stale_sign_in()
    response = desktop.post(f"/account/applications/{web_client[0].pk}/revoke/")
    assert response["Location"] == "/accounts/login/?next=/account/applications/"
    assert "access_token" in refresh_answer(desktop, web_client, tokens["refresh_token"])


def test_security_events_show_the_users_own_events_in_words(client, alice, make_user, desktop):
    make_user("bob")
    login(client, "alice", "wrong password")
    login(client, "bob", "wrong password")
    record("mfa.enrol", actor="alice", target="alice", factor="totp")
    record("token.issued", actor="alice", target="user:alice")  # not a security event here
    body = desktop.get("/account/events/").content.decode()
    assert "Failed sign-in: wrong username or password" in body
    assert "Signed in" in body and "Second factor added" in body
    assert body.count("Failed sign-in") == 1  # bob's is not shown
    assert "token.issued" not in body
    assert "Chrome 131 on Linux" in body and "198.51.100.7" in body


def test_security_events_cover_thirty_days_and_are_paginated(desktop, alice):
    for _ in range(25):
        record("mfa.verify", actor="alice", factor="totp")
    old = record("mfa.remove", actor="alice", target="alice", factor="totp")
    AuditEvent.objects.filter(pk=old.pk).update(ts=timezone.now() - timedelta(days=31))
    first = desktop.get("/account/events/").content.decode()
    assert first.count('class="event ') == 20 and "Page 1 of 2" in first
    second = desktop.get("/account/events/", {"page": "2"}).content.decode()
    assert second.count('class="event ') == 6  # 5 checks and the sign-in
    assert "Second factor removed" not in first + second
    assert desktop.get("/account/events/", {"page": "x"}).status_code == 200
