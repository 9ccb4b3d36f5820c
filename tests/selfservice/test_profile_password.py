"""The profile and password sections of /account/: what a user sees and what is stored."""

from __future__ import annotations

import pytest

from accounts.models import User
from audit.models import AuditEvent
from selfservice.models import BrowserSession
from tests.conftest import PASSWORD
from tests.selfservice.conftest import refresh_answer

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a much longer passphrase 42"


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/account/")


def test_the_root_sends_a_signed_in_user_to_the_account_page(desktop, client):
    assert desktop.get("/")["Location"] == "/account/"
    assert client.get("/")["Location"] == "/accounts/login/"


def test_the_profile_shows_the_account_and_links_the_second_factors(desktop):
    response = desktop.get("/account/")
    body = response.content.decode()
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    assert 'value="Alice"' in body and "alice@example.com" in body
    assert "not verified" in body
    assert 'href="/mfa/"' in body
    assert 'href="/account/email/"' in body  # the change of address (a link to the new one)
    assert 'href="/account/providers/"' in body  # upstream sign-in providers to link


def test_a_confirmed_address_shows_as_verified(desktop, alice):
    alice.email_verified = True
    alice.save()
    body = desktop.get("/account/").content.decode()
    assert '<span class="badge ok">verified</span>' in body


def test_the_name_is_saved_and_audited(desktop, alice):
    response = desktop.post("/account/", {"name": "Alice Liddell"})
    assert response.status_code == 302 and response["Location"] == "/account/"
    alice.refresh_from_db()
    assert alice.name == "Alice Liddell"
    event = AuditEvent.objects.get(event="user.updated", target="alice")
    assert event.actor == "alice" and event.data["fields"] == ["name"]
    assert "Your profile is saved." in desktop.get("/account/").content.decode()


def test_a_name_too_long_is_refused_on_the_form(desktop, alice):
    response = desktop.post("/account/", {"name": "x" * 256})
    assert response.status_code == 400
    assert "at most 255 characters" in response.content.decode()
    alice.refresh_from_db()
    assert alice.name == "Alice"


def test_a_change_after_an_old_sign_in_asks_for_a_new_one(desktop, alice, stale_sign_in):
    stale_sign_in()
    response = desktop.post("/account/", {"name": "Mallory"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/"
    alice.refresh_from_db()
    assert alice.name == "Alice"
    assert not AuditEvent.objects.filter(event="user.updated", target="alice").exists()


def test_a_password_change_needs_the_current_password(desktop, alice):
    response = desktop.post(
        "/account/password/", {"current_password": "wrong", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert "Your current password is not right." in response.content.decode()
    assert User.objects.get(pk=alice.pk).check_password(PASSWORD)
    failed = AuditEvent.objects.get(event="account.password_changed")
    assert failed.outcome == AuditEvent.Outcome.FAILURE and failed.target == "alice"


def test_wrong_current_passwords_are_throttled_like_sign_ins(desktop, alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    data = {"current_password": "wrong", "new_password": NEW_PASSWORD}
    assert desktop.post("/account/password/", data).status_code == 400
    assert desktop.post("/account/password/", data).status_code == 400
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = desktop.post("/account/password/", right)
    assert response.status_code == 429
    assert User.objects.get(pk=alice.pk).check_password(PASSWORD)


def test_the_new_password_passes_the_validators(desktop, alice):
    response = desktop.post(
        "/account/password/", {"current_password": PASSWORD, "new_password": "password"}
    )
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    assert User.objects.get(pk=alice.pk).check_password(PASSWORD)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    desktop, phone, alice, code_flow_tokens, web_client
):
    refresh = code_flow_tokens(phone)["refresh_token"]
    response = desktop.post(
        "/account/password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    user = User.objects.get(pk=alice.pk)
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(event="account.password_changed")
    assert event.actor == "alice" and event.outcome == AuditEvent.Outcome.SUCCESS
    # This browser is still signed in (its key rotated, its row kept); the phone is not.
    assert "Other sessions signed out: 1." in desktop.get("/account/password/").content.decode()
    assert phone.get("/account/").status_code == 302
    assert BrowserSession.objects.filter(user=alice).count() == 1
    assert refresh_answer(desktop, web_client, refresh)["error"] == "invalid_grant"
