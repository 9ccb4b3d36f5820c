"""In Chromium, against a real SMTP server: an administrator invites an address with a role
from the console; the invitee follows the mailed link, chooses a username and password, sets
up the second factor the role requires and is signed in; the console lists the invitation as
accepted, and the link, opened again, says it was used."""

from __future__ import annotations

import pyotp
import pytest

from accounts.models import User
from roles.models import UserRole
from tests.browser.conftest import shot
from tests.browser.test_first_run import create_administrator
from tests.conftest import PASSWORD
from tests.mailbox import link_in, text_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _enrol_totp(page) -> None:
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("button:has-text('Turn on')")
    page.wait_for_url("**/mfa/recovery-codes/**")
    page.click("#continue")


def test_an_invitation_accepted_in_the_browser(browser_page, builtin_roles, mailbox) -> None:
    admin = browser_page
    create_administrator(admin)
    _enrol_totp(admin)
    admin.wait_for_url("**/console/")

    admin.click("nav >> text=Invitations")
    admin.click("text=Invite someone")
    admin.fill("#id_email", "dana@example.com")
    admin.check("input[name=roles][value=auditor]")
    admin.click("button:has-text('Send the invitation')")
    admin.wait_for_url("**/console/invitations/")
    assert admin.get_by_text("Invitation sent to dana@example.com.").is_visible()
    assert admin.locator("td .badge", has_text="Pending").is_visible()
    shot(admin, "invitation-01-console-list")

    [message] = mailbox.wait("dana@example.com")
    assert message["Subject"] == "You are invited to authserver"
    assert "root invited you" in text_of(message) and "Roles: auditor." in text_of(message)
    link = link_in(message, "/invitation/")

    invitee = admin.context.browser.new_context(base_url=admin.url.split("/console")[0])
    page = invitee.new_page()
    page.set_default_timeout(15_000)
    page.goto(link)
    assert page.get_by_role("heading", name="Create your account").is_visible()
    assert page.get_by_text("dana@example.com").is_visible()
    page.fill("#id_username", "dana")
    page.fill("#id_password", "short")
    page.fill("#id_password2", "short")
    page.click("button:has-text('Create the account')")
    assert "too short" in page.inner_text("#password-error")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button:has-text('Create the account')")
    page.wait_for_url("**/mfa/totp/setup/")  # the auditor role requires a second factor
    _enrol_totp(page)
    page.wait_for_url("**/welcome/")
    assert page.get_by_role("heading", name="Your account is ready").is_visible()
    assert page.get_by_text("You are signed in as dana.").is_visible()
    shot(page, "invitation-02-welcome")

    dana = User.objects.get(username="dana")
    assert dana.email == "dana@example.com" and dana.email_verified
    assert list(UserRole.objects.filter(user=dana).values_list("role__name", flat=True)) == [
        "auditor"
    ]
    page.goto(link)
    assert page.get_by_role("heading", name="This link was used").is_visible()
    invitee.close()

    admin.reload()
    assert admin.locator("td .badge", has_text="Accepted by dana").is_visible()
