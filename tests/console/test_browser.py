"""The console's main journeys in a real browser (Playwright + Debian chromium, headless).

Screenshots of every step land in ``var/screenshots/``. Signing in is the real thing: the
password form, then the second-factor page, where the TOTP code computed with pyotp from the
admin's stored seed is typed in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from django.conf import settings

from core.actors import APPLY
from roles import services as role_services
from tests.conftest import CHROMIUM, PASSWORD, forget_seeding
from tests.console.conftest import enrol_totp, next_totp_code

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
expect = sync_api.expect

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


@pytest.fixture
def page(chromium):
    """A page of a fresh context of the module's chromium."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def second_factor(page, user) -> None:
    """Type the current TOTP code on the second-factor page."""
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(next_totp_code(user))
    page.get_by_role("button", name="Verify").click()


def nav(page, section: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=section).click()


@pytest.fixture
def signed_in(page, live_server, admin):
    """The admin signed in with a password, then the TOTP code of their authenticator app."""
    enrol_totp(admin)
    sign_in(page, live_server.url, admin.username)
    second_factor(page, admin)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return page


def test_password_only_session_is_sent_to_sign_in_with_a_second_factor(page, live_server, admin):
    sign_in(page, live_server.url, admin.username)  # no factor yet: a password-only session
    expect(page.get_by_role("heading", name="Sign in with a second factor")).to_be_visible()
    expect(page.get_by_text("signed in with a password only")).to_be_visible()
    shot(page, "01-needs-mfa")


def test_sign_in_with_totp_reaches_the_dashboard(page, live_server, admin):
    enrol_totp(admin)
    sign_in(page, live_server.url, admin.username)
    shot(page, "01a-totp-step")
    second_factor(page, admin)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # The dashboard's two charts (sign-ins; tokens), each an image with its accessible name.
    for name in ("Sign-ins per hour", "Access tokens issued per hour"):
        expect(page.get_by_role("img", name=name, exact=True)).to_be_visible()
    shot(page, "02-dashboard")


def test_create_a_role_under_another_and_assign_it(signed_in, admin, grant_roles, make_user):
    page = signed_in
    make_user("dave")
    # Nobody hands out permissions they lack (the hierarchy guard): the admin holds these.
    grant_roles(admin, "tickets:read", "tickets:close", "GET /api/tickets/**")
    nav(page, "Roles")
    page.get_by_role("link", name="New role").click()
    page.get_by_label("Name").fill("support")
    page.get_by_label("Permissions").fill("tickets:read")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_text("Role support created.")).to_be_visible()

    page.get_by_role("link", name="Add a role under it").click()
    assert page.get_by_role("checkbox", name="support").is_checked()
    page.get_by_label("Name").fill("support-lead")
    page.get_by_label("Permissions").fill("tickets:close\nGET /api/tickets/**")
    shot(page, "03-role-form")
    page.get_by_role("button", name="Create role").click()
    rows = page.locator("table.data tbody tr")
    expect(rows.filter(has_text="tickets:close").filter(has_text="own")).to_have_count(1)
    inherited = rows.filter(has_text="tickets:read").filter(has_text="inherited from support")
    expect(inherited).to_have_count(1)
    shot(page, "04-role-detail")

    nav(page, "Roles")
    tree = page.get_by_role("list", name="Role hierarchy")
    nested = tree.locator("li", has=page.get_by_role("link", name="support", exact=True)).locator(
        "ul"
    )
    expect(nested.get_by_role("link", name="support-lead", exact=True)).to_be_visible()
    shot(page, "05-role-tree")

    nav(page, "Users")
    page.get_by_label("Search users").fill("dav")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="root")).to_have_count(0)
    shot(page, "06a-user-search")
    page.get_by_role("link", name="dave").click()
    page.get_by_role("checkbox", name="support-lead").check()
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_text("Roles of dave saved.")).to_be_visible()
    effective = page.locator("dd", has_text="support-lead")
    expect(effective.get_by_text("support", exact=True)).to_be_visible()  # inherited
    shot(page, "06-user-roles")


def test_create_a_client_and_see_the_secret_once_then_revoke_its_token(signed_in, live_server):
    page = signed_in
    nav(page, "Clients")
    page.get_by_role("link", name="New client").click()
    page.get_by_label("Name").fill("Billing")
    page.get_by_role("checkbox", name=re.compile("Authorization code")).uncheck()
    page.get_by_role("checkbox", name=re.compile("Client credentials")).check()
    shot(page, "06b-client-form")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_text("It is shown only this once")).to_be_visible()
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    assert len(secret) >= 43
    shot(page, "07-client-secret-once")

    page.get_by_role("link", name="I have stored it: continue").click()
    expect(page.get_by_text("stored hashed; it cannot be shown again")).to_be_visible()
    assert secret not in page.content()
    page.reload()
    assert secret not in page.content()

    # The secret works: a machine client gets a token with it, which the console then revokes.
    token = requests.post(
        f"{live_server.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    nav(page, "Dashboard")
    expect(page.locator(".stat", has_text="access tokens issued").get_by_text("1")).to_be_visible()
    shot(page, "07a-dashboard-activity")
    nav(page, "Sessions & tokens")
    row = page.locator("tr", has_text=client_id)
    expect(row).to_have_count(1)
    shot(page, "08-tokens")
    row.get_by_role("link", name=re.compile("Revoke")).click()
    expect(page.get_by_role("heading", name=re.compile("Revoke the token"))).to_be_visible()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("revoked.")).to_be_visible()
    expect(page.locator("tr", has_text=client_id)).to_have_count(0)
    shot(page, "09-token-revoked")
    # Refused from the next request on, as a resource server sees it.
    answer = requests.post(
        f"{live_server.url}/o/introspect/",
        data={"token": token.json()["access_token"]},
        auth=(client_id, secret),
        timeout=10,
    )
    assert answer.json() == {"active": False}


def test_create_an_api_key_and_see_it_once(signed_in, admin, grant_roles, make_user):
    page = signed_in
    make_user("dave")
    role_services.role_create(actor=APPLY, name="deployer", permissions=["deploy:run"])
    grant_roles(admin, "deploy:run")
    nav(page, "API keys")
    page.get_by_role("link", name="New API key").click()
    page.get_by_label("Owner", exact=True).fill("dave")
    page.get_by_label("Name").fill("ci-deploy")
    page.get_by_role("checkbox", name="deployer").check()
    shot(page, "12-api-key-form")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_text("It is shown only this once")).to_be_visible()
    secret = page.locator("#api-key").inner_text()
    assert secret.startswith("ask_") and len(secret) > 60
    shot(page, "13-api-key-once")
    page.get_by_role("link", name="I have stored it: continue").click()
    row = page.locator("table.data tbody tr", has_text="ci-deploy")
    expect(row.get_by_text("deployer")).to_be_visible()
    expect(row.get_by_text(secret[:21])).to_be_visible()  # ask_<key id>_ only
    assert secret not in page.content()
    page.reload()
    assert secret not in page.content()
    shot(page, "14-api-keys")


def test_reset_the_mfa_of_a_user_after_confirming(signed_in, make_user):
    page = signed_in
    fay = make_user("fay")
    enrol_totp(fay)
    nav(page, "Users")
    page.get_by_role("link", name="fay").click()
    expect(page.get_by_text("Authenticator app")).to_be_visible()
    page.get_by_role("link", name="Reset MFA").click()
    expect(page.get_by_role("heading", name="Reset the second factors of fay?")).to_be_visible()
    shot(page, "15-mfa-reset-confirm")
    page.get_by_role("button", name="Reset MFA of fay").click()
    expect(page.get_by_text("Second factors of fay removed.")).to_be_visible()
    factors = page.locator("section", has=page.get_by_role("heading", name="Second factors"))
    expect(factors.get_by_text("None.")).to_be_visible()
    shot(page, "16-mfa-reset-done")


def test_filter_the_audit_log(signed_in, live_server, make_user):
    page = signed_in
    make_user("erin")
    role_services.role_create(actor=APPLY, name="auditor", permissions=["audit:read"])
    forget_seeding()  # the log shows only what this operator did
    nav(page, "Users")
    page.get_by_role("link", name="erin").click()
    page.get_by_role("checkbox", name="auditor").check()
    page.get_by_role("button", name="Save roles").click()
    page.get_by_role("link", name="Disable").click()
    expect(page.get_by_role("heading", name="Disable erin?")).to_be_visible()
    page.get_by_role("button", name="Disable erin").click()
    expect(page.get_by_text("User erin disabled.")).to_be_visible()

    nav(page, "Audit log")
    page.get_by_label("Event").fill("user.")
    page.get_by_label("Outcome").select_option("success")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_text("user.disabled")).to_be_visible()
    shot(page, "10-audit-filtered")

    page.get_by_label("Event").fill("role.")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.data tbody tr", has_text="role.assigned")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("id,ts,event,outcome,actor,target")
    assert "role.assigned" in text and "user.disabled" not in text


def test_keyboard_reaches_the_navigation_with_a_visible_focus(signed_in):
    page = signed_in
    page.keyboard.press("Tab")  # the skip link comes first (then the brand and sign out)
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    shot(page, "11-skip-link")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Users":
            break
    assert page.evaluate("document.activeElement.textContent") == "Users"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/users/")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()


def test_download_the_configuration_then_upload_check_and_apply_a_file(
    signed_in, live_server, tmp_path
):
    page = signed_in
    nav(page, "Configuration file")
    expect(page.get_by_text("Secrets are not included")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the configuration").click()
    assert download.value.suggested_filename.startswith("authserver-")
    assert "Secrets are not exported" in Path(download.value.path()).read_text()
    shot(page, "20-configuration")
    upload = tmp_path / "site.yaml"
    upload.write_text("roles:\n  - name: auditor\n    permissions: [audit:read]\n")
    page.get_by_label("Configuration file (YAML)").set_input_files(str(upload))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Apply site.yaml?")).to_be_visible()
    expect(page.locator("tr.plan-created", has_text="auditor")).to_be_visible()
    shot(page, "21-configuration-plan")
    page.get_by_role("button", name="Apply the file").click()
    expect(page.get_by_role("heading", name="site.yaml applied")).to_be_visible()
    expect(page.get_by_text("created role auditor")).to_be_visible()
    nav(page, "Dashboard")
    shot(page, "22-dashboard-charts")


def test_a_client_edit_with_errors_shows_them_all_and_keeps_what_was_typed(signed_in, make_client):
    page = signed_in
    make_client(client_id="other", name="Taken name")
    client, _ = make_client(
        client_id="shop",
        name="Shop",
        grant_types=["authorization_code"],
        redirect_uris=["https://shop.example/cb"],
        scopes=["openid"],
    )
    page.goto(f"{page.url.split('/console/')[0]}/console/clients/{client.pk}/edit/")
    page.get_by_label("Name", exact=True).fill("Taken name")
    page.get_by_label("Redirect URIs", exact=True).fill(
        "https://shop.example/cb\nhttp://evil.example/cb"
    )
    page.get_by_label("Access token lifetime (seconds)").fill("0")
    page.get_by_role("checkbox", name="profile").check()
    page.get_by_role("button", name="Save client").click()
    alerts = page.locator(".field.has-error .error")
    expect(alerts).to_have_count(3)
    expect(page.get_by_text("a client named 'Taken name' already exists")).to_be_visible()
    expect(page.get_by_text("http://evil.example/cb: redirect URIs must be https")).to_be_visible()
    expect(page.get_by_text("from 1 to 86400")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Taken name")
    expect(page.get_by_label("Redirect URIs", exact=True)).to_have_value(
        "https://shop.example/cb\nhttp://evil.example/cb"
    )
    assert page.get_by_role("checkbox", name="profile").is_checked()
    shot(page, "10-client-errors")

    page.get_by_label("Name", exact=True).fill("Shop renamed")
    page.get_by_label("Redirect URIs", exact=True).fill(
        "https://shop.example/cb\nhttps://shop.example/two"
    )
    page.get_by_label("Access token lifetime (seconds)").fill("300")
    page.get_by_role("button", name="Save client").click()
    expect(page.get_by_text("Client Shop renamed saved.")).to_be_visible()
    expect(page.get_by_text("300 s")).to_be_visible()
    client.refresh_from_db()
    assert client.redirect_uris.split() == ["https://shop.example/cb", "https://shop.example/two"]
    assert client.allowed_scopes == ["openid", "profile"] and client.access_token_lifetime == 300
