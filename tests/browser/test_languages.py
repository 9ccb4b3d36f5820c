"""A German sign-in in Chromium: ``ui_locales=de`` on the authorization request, then the
password and second-factor pages in German, at phone width."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.browser.conftest import shot
from tests.conftest import PASSWORD, REDIRECT_URI, pkce_pair
from tests.console.conftest import enrol_totp, next_totp_code

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def test_ui_locales_de_signs_in_in_german(browser_page, web_client, make_user):
    user = make_user("alice")
    enrol_totp(user)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    _, challenge = pkce_pair()
    query = {
        "client_id": "webapp",
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "ui_locales": "de",
    }
    page.goto(f"/o/authorize/?{urlencode(query)}")
    expect(page.get_by_role("heading", name="Bei authserver anmelden")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "de"
    shot(page, "de-login")
    page.get_by_label("Benutzername").fill("alice")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Bestätigen Sie, dass Sie es sind")).to_be_visible()
    page.get_by_label("Code aus Ihrer Authenticator-App").fill("000000")
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.locator("#mfa-error")).to_have_text(
        "Dieser Code stimmt nicht. Prüfen Sie Ihre App und versuchen Sie es erneut."
    )
    shot(page, "de-second-factor")
    with page.expect_request(lambda r: r.url.startswith(REDIRECT_URI)) as done:
        page.get_by_label("Code aus Ihrer Authenticator-App").fill(next_totp_code(user))
        page.get_by_role("button", name="Bestätigen").click()
    assert "code=" in done.value.url
