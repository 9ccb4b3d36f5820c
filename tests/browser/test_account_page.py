"""The account page in Chromium: sign in twice (two browser contexts) and sign the other one
out; authorize an application with a real OAuth client (authlib), revoke it on the account page
and see its refresh token refused."""

from __future__ import annotations

import contextlib
import secrets

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import shot, sign_in_with_password
from tests.conftest import PASSWORD, REDIRECT_URI

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signing_out_the_other_session_signs_that_browser_out(browser_page, make_user):
    page = browser_page
    make_user("alice")
    other_context = page.context.browser.new_context(
        base_url=settings.ISSUER_URL,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    )
    other = other_context.new_page()
    other.set_default_timeout(15_000)
    try:
        sign_in_with_password(other, "alice", PASSWORD)
        other.wait_for_url("**/account/")
        sign_in_with_password(page, "alice", PASSWORD)
        page.wait_for_url("**/account/")
        page.click("nav.account-nav >> text=Where you are signed in")
        page.wait_for_url("**/account/sessions/")
        sessions = page.locator("li.session")
        assert sessions.count() == 2
        assert "this device" in page.locator("li.session.current").inner_text()
        phone = page.locator("li.session:not(.current)")
        assert "Mobile Safari 17 on iOS 17" in phone.inner_text()
        shot(page, "account-sessions")
        phone.locator("button:has-text('Sign out')").click()
        page.wait_for_selector("text=That session is signed out.")
        assert page.locator("li.session").count() == 1
        other.reload()
        assert "/accounts/login/" in other.url
        assert other.locator("#id_username").is_visible()
    finally:
        other_context.close()


def test_a_revoked_application_has_its_refresh_token_refused(browser_page, make_user, web_client):
    page = browser_page
    make_user("alice")
    issuer = settings.ISSUER_URL
    client_obj, secret = web_client
    oauth = OAuth2Session(
        client_obj.client_id,
        secret,
        scope="openid profile offline_access",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = oauth.create_authorization_url(f"{issuer}/o/authorize/", code_verifier=verifier)
    sign_in_with_password(page, "alice", PASSWORD)
    page.wait_for_url("**/account/")
    # The browser's request carries the session; the client reads the code off the redirect
    # (app.example.com does not exist, so Chromium's navigation to it fails: not our concern).
    with page.expect_response(lambda r: "/o/authorize/" in r.url) as authorized:
        with contextlib.suppress(PlaywrightError):
            page.goto(url)
    location = authorized.value.headers["location"]
    assert location.startswith(REDIRECT_URI)
    token = oauth.fetch_token(
        f"{issuer}/o/token/", authorization_response=location, code_verifier=verifier
    )
    assert token["refresh_token"]

    page.goto("/account/applications/")
    app = page.locator("li.application[data-client=webapp]")
    assert "Web App" in app.inner_text() and "offline_access" in app.inner_text()
    shot(page, "account-applications")
    app.locator("button:has-text('Revoke access')").click()
    page.wait_for_selector("text=Web App no longer has access to your account.")
    assert page.locator("li.application").count() == 0

    with pytest.raises(OAuthError) as refused:
        oauth.refresh_token(f"{issuer}/o/token/", refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"


GERMAN_HEADINGS = {
    "/account/": "Ihr Konto",
    "/account/password/": "Passwort ändern",
    "/account/sessions/": "Wo Sie angemeldet sind",
    "/account/applications/": "Anwendungen",
    "/account/events/": "Letzte Sicherheitsereignisse",
}


def test_every_account_page_fits_a_phone_in_german(browser_page, make_user):
    make_user("alice")
    context = browser_page.context.browser.new_context(
        base_url=settings.ISSUER_URL, locale="de-DE", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]:has-text('Anmelden')")
        page.wait_for_url("**/account/")
        for path, heading in GERMAN_HEADINGS.items():
            page.goto(path)
            assert page.locator("h1").inner_text() == heading
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") == 0
            shot(page, "account-phone-" + (path.strip("/").split("/")[-1]))
    finally:
        context.close()
