"""Passkeys in a real browser with Chromium's virtual authenticator (DevTools WebAuthn domain)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from mfa.models import Authenticator
from tests.browser.conftest import shot, sign_in_with_password
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def test_register_a_named_passkey_then_sign_in_with_it(browser_page, make_user):
    page = browser_page
    make_user("alice")
    add_virtual_authenticator(page)

    sign_in_with_password(page, "alice", PASSWORD)
    page.goto("/mfa/")
    page.fill("#passkey-name", "Office key")
    page.click("#passkey-register-button")
    page.wait_for_url("**/mfa/recovery-codes/**")
    assert page.locator("#recovery-codes li").count() == 10
    page.click("#continue")
    page.wait_for_url("**/mfa/")
    assert page.get_by_text("Office key").is_visible()
    shot(page, "passkey-01-registered")
    stored = Authenticator.objects.get(user__username="alice", type="webauthn")
    assert stored.name == "Office key"
    count_after_registration = stored.data["sign_count"]

    page.click("button:has-text('Sign out')")
    sign_in_with_password(page, "alice", PASSWORD)
    page.wait_for_url("**/mfa/authenticate/")
    shot(page, "passkey-02-challenge")
    page.click("#passkey-button")
    page.wait_for_url("**/mfa/")
    assert page.get_by_role("heading", name="Sign-in security").is_visible()
    shot(page, "passkey-03-signed-in")
    stored.refresh_from_db()
    assert stored.data["sign_count"] > count_after_registration
    assert AuditEvent.objects.filter(event="mfa.verify", outcome="success").exists()
    signed_in = AuditEvent.objects.filter(event="login", actor="alice").order_by("-id").first()
    assert signed_in.data["amr"] == ["pwd", "hwk", "mfa"]  # a device-bound key

    # A counter that does not move forward (a cloned authenticator) is refused.
    stored.data = {**stored.data, "sign_count": 10_000}
    stored.save()
    page.click("button:has-text('Sign out')")
    sign_in_with_password(page, "alice", PASSWORD)
    page.wait_for_url("**/mfa/authenticate/")
    page.click("#passkey-button")
    error = page.locator("[data-passkey-error]")
    error.wait_for(state="visible")
    assert "could not be verified" in error.inner_text()
    shot(page, "passkey-04-cloned-refused")
    assert page.url.endswith("/mfa/authenticate/")
    assert AuditEvent.objects.filter(
        event="mfa.verify", outcome="failure", data__factor="webauthn"
    ).exists()
