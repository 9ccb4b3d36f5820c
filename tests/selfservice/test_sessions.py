"""Where you are signed in: browser sessions with device, address and times, the app sign-ins
started from them, sign out one, sign out everywhere else."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.cache import cache

from audit.models import AuditEvent
from selfservice import sessions
from selfservice.models import BrowserSession
from tests.selfservice.conftest import refresh_answer, signed_in_browser

pytestmark = pytest.mark.django_db


def session_ids(body: str) -> list[str]:
    return re.findall(r'data-session="([0-9a-f-]+)"', body)


def test_each_browser_session_is_listed_with_its_device_and_address(desktop, phone):
    body = desktop.get("/account/sessions/").content.decode()
    assert len(session_ids(body)) == 2
    assert "Chrome 131 on Linux" in body and "198.51.100.7" in body
    assert "Mobile Safari 17 on iOS 17 (iPhone)" in body and "203.0.113.9" in body
    # This device first, marked, without a sign-out button of its own.
    first = body.index('class="session current"')
    assert first < body.index("Mobile Safari")
    assert body.count("/end/") == 2  # the phone's sign-out, and everywhere else


def test_app_sign_ins_are_listed_under_the_browser_session_they_came_from(
    desktop, phone, code_flow_tokens
):
    code_flow_tokens(phone)
    body = desktop.get("/account/sessions/").content.decode()
    phone_entry = body[body.index("Mobile Safari") :]
    assert "Signed in to Web App" in phone_entry
    assert "Signed in to Web App" not in body[: body.index("Mobile Safari")]


def test_signing_out_another_session_ends_it_and_its_app_sign_ins(
    desktop, phone, alice, code_flow_tokens, web_client
):
    refresh = code_flow_tokens(phone)["refresh_token"]
    other = BrowserSession.objects.get(user=alice, ip="203.0.113.9")
    response = desktop.post(f"/account/sessions/{other.id}/end/")
    assert response.status_code == 302 and response["Location"] == "/account/sessions/"
    assert phone.get("/account/").status_code == 302  # signed out
    assert not BrowserSession.objects.filter(pk=other.pk).exists()
    assert refresh_answer(desktop, web_client, refresh)["error"] == "invalid_grant"
    event = AuditEvent.objects.get(event="account.session_ended")
    assert event.actor == "alice" and event.data["session"] == str(other.id)
    assert event.data["apps"] == 1
    assert AuditEvent.objects.filter(event="session.revoked", actor="alice").count() == 1
    assert len(session_ids(desktop.get("/account/sessions/").content.decode())) == 1


def test_the_current_session_and_strangers_sessions_are_not_found(desktop, alice, make_user):
    mine = BrowserSession.objects.get(user=alice)
    assert desktop.post(f"/account/sessions/{mine.id}/end/").status_code == 404
    assert desktop.post(f"/account/sessions/{uuid.uuid4()}/end/").status_code == 404
    make_user("bob")
    bobs = signed_in_browser_as("bob")
    theirs = BrowserSession.objects.get(user__username="bob")
    assert desktop.post(f"/account/sessions/{theirs.id}/end/").status_code == 404
    assert bobs.get("/account/").status_code == 200


def signed_in_browser_as(username: str):
    from django.test import Client as Browser

    from tests.conftest import login

    browser = Browser()
    assert login(browser, username).status_code == 302
    return browser


def test_sign_out_everywhere_else_keeps_this_session_and_its_apps(
    desktop, phone, alice, code_flow_tokens, web_client
):
    here = code_flow_tokens(desktop)["refresh_token"]
    there = code_flow_tokens(phone)["refresh_token"]
    third = signed_in_browser("curl/8.5.0", "192.0.2.1")
    response = desktop.post("/account/sessions/elsewhere/end/")
    assert response.status_code == 302
    assert phone.get("/account/").status_code == 302
    assert third.get("/account/").status_code == 302
    assert desktop.get("/account/").status_code == 200
    assert refresh_answer(desktop, web_client, there)["error"] == "invalid_grant"
    assert "access_token" in refresh_answer(desktop, web_client, here)
    event = AuditEvent.objects.get(event="account.signed_out_elsewhere")
    assert event.data == {"sessions": 2, "apps": 1}
    assert BrowserSession.objects.filter(user=alice).count() == 1


def test_an_app_sign_in_without_its_browser_session_is_ended_on_its_own(
    desktop, phone, alice, code_flow_tokens, web_client
):
    refresh = code_flow_tokens(phone)["refresh_token"]
    phone.post("/accounts/logout/")  # the browser session ends, the app sign-in lives on
    body = desktop.get("/account/sessions/").content.decode()
    family = re.search(r'data-family="([0-9a-f-]+)"', body).group(1)
    assert desktop.post(f"/account/sessions/apps/{family}/end/").status_code == 302
    assert refresh_answer(desktop, web_client, refresh)["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(event="session.revoked", actor="alice").exists()
    assert desktop.post(f"/account/sessions/apps/{family}/end/").status_code == 404


def test_signing_out_needs_a_recent_sign_in(desktop, phone, alice, stale_sign_in):
    stale_sign_in()
    other = BrowserSession.objects.get(user=alice, ip="203.0.113.9")
    response = desktop.post(f"/account/sessions/{other.id}/end/")
    assert response["Location"] == "/accounts/login/?next=/account/sessions/"
    response = desktop.post("/account/sessions/elsewhere/end/")
    assert response["Location"].startswith("/accounts/login/")
    assert phone.get("/account/").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(desktop, alice, monkeypatch):
    row = BrowserSession.objects.get(user=alice)
    writes = []
    real = BrowserSession.objects.filter

    def counting(*args, **kwargs):
        query = real(*args, **kwargs)
        original = query.update

        def update(**fields):
            writes.append(fields)
            return original(**fields)

        query.update = update
        return query

    monkeypatch.setattr(BrowserSession.objects, "filter", counting)
    for _ in range(3):
        desktop.get("/account/", REMOTE_ADDR="192.0.2.44")
    assert writes == []  # seen at sign-in, less than a minute ago
    cache.delete(sessions._seen_key(row.session_id))  # a minute later the mark is gone
    desktop.get("/account/", REMOTE_ADDR="192.0.2.44")
    desktop.get("/account/", REMOTE_ADDR="192.0.2.44")
    assert len(writes) == 1
    row.refresh_from_db()
    assert row.ip == "192.0.2.44" and row.last_seen > row.created_at


def test_a_sign_out_removes_the_session_from_the_list(desktop, phone, alice):
    phone.post("/accounts/logout/")
    assert BrowserSession.objects.filter(user=alice).count() == 1
