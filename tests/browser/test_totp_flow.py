"""In a real browser: sign in, be made to enrol TOTP, keep recovery codes, sign in with TOTP."""

from __future__ import annotations

import time

import pytest

from mfa import totp
from mfa.models import Authenticator
from tests.browser.conftest import shot, sign_in_with_password
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_enrol_totp_then_login_with_totp(browser_page, make_user, settings):
    page = browser_page
    make_user("alice", mfa_required=True)

    sign_in_with_password(page, "alice", PASSWORD)
    page.wait_for_url("**/mfa/totp/setup/")
    assert page.get_by_text("needs a second sign-in step").is_visible()
    assert page.locator("img.qr").evaluate("img => img.naturalWidth > 0")
    shot(page, "totp-01-setup")
    secret = page.inner_text("#totp-secret").strip()

    page.fill("#id_code", "000000" if totp.code_at(secret, time.time()) != "000000" else "111111")
    page.click("button:has-text('Turn on')")
    assert page.get_by_role("alert").inner_text().startswith("That code does not match")
    shot(page, "totp-02-setup-wrong-code")

    page.fill("#id_code", totp.code_at(secret, time.time()))
    page.click("button:has-text('Turn on')")
    page.wait_for_url("**/mfa/recovery-codes/**")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    shot(page, "totp-03-recovery-codes")
    page.click("#continue")
    page.wait_for_url("**/mfa/")
    assert page.get_by_text("Authenticator app").first.is_visible()
    shot(page, "totp-04-manage")

    page.click("button:has-text('Sign out')")
    sign_in_with_password(page, "alice", PASSWORD)
    page.wait_for_url("**/mfa/authenticate/")
    assert page.get_attribute("#id_code", "autocomplete") == "one-time-code"
    page.fill("#id_code", "999999" if totp.code_at(secret, time.time()) != "999999" else "888888")
    page.click("button:has-text('Verify')")
    assert "That code is not right" in page.get_by_role("alert").inner_text()
    shot(page, "totp-05-wrong-code")

    # The enrolment used this step's code: the next step's code is fresh (±1 step window).
    page.fill("#id_code", totp.code_at(secret, time.time() + totp.PERIOD))
    page.click("button:has-text('Verify')")
    page.wait_for_url("**/mfa/")
    assert page.get_by_role("heading", name="Sign-in security").is_visible()
    shot(page, "totp-06-signed-in")
    assert Authenticator.objects.filter(user__username="alice", type="totp").count() == 1
