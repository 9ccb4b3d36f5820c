"""In a real browser: the operator's setup link -> the administrator's form -> TOTP (or passkey)
enrolment -> the console dashboard; the link, opened again, says it was used."""

from __future__ import annotations

import pyotp
import pytest

from mfa.models import Authenticator
from setup import services
from tests.browser.conftest import shot
from tests.browser.test_passkeys import add_virtual_authenticator
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_setup_link_to_the_console_dashboard(browser_page, builtin_roles):
    page = browser_page
    link = services.issue_link()
    page.goto(link)
    assert page.get_by_role("heading", name="Create the first administrator").is_visible()
    page.fill("#id_username", "root")
    page.fill("#id_email", "root@example.com")
    page.fill("#id_password", "short")
    page.click("button:has-text('Create administrator')")
    assert "too short" in page.inner_text("#password-error")
    assert page.input_value("#id_username") == "root" and page.input_value("#id_password") == ""
    shot(page, "setup-01-form-error")

    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Create administrator')")
    page.wait_for_url("**/mfa/totp/setup/")
    assert page.get_by_text("needs a second sign-in step").is_visible()
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("button:has-text('Turn on')")
    page.wait_for_url("**/mfa/recovery-codes/**")
    shot(page, "setup-02-recovery-codes")
    page.click("#continue")
    page.wait_for_url("**/console/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_text("root").first.is_visible()
    shot(page, "setup-03-dashboard")

    page.goto(link)
    assert page.get_by_role("heading", name="This setup link was used").is_visible()
    assert page.locator("#id_password").count() == 0
    shot(page, "setup-04-used")


def create_administrator(page) -> None:
    """A fresh setup link, its form filled in as ``root``: on to the second-factor step."""
    page.goto(services.issue_link())
    page.fill("#id_username", "root")
    page.fill("#id_email", "root@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Create administrator')")
    page.wait_for_url("**/mfa/totp/setup/")


def test_setup_link_with_a_passkey_instead_of_the_app(browser_page, builtin_roles):
    page = browser_page
    add_virtual_authenticator(page)
    create_administrator(page)
    page.fill("#passkey-name", "Admin key")
    page.click("#passkey-register-button")
    page.wait_for_url("**/mfa/recovery-codes/**")
    page.click("#continue")
    page.wait_for_url("**/console/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert Authenticator.objects.get(user__username="root", type="webauthn").name == "Admin key"
    shot(page, "setup-05-passkey-dashboard")
