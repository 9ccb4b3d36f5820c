"""The console and the end-user pages on a phone (390x844) and from the keyboard, in Chromium."""

from __future__ import annotations

import pytest

from audit import services as audit
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.console.conftest import admin, enrol_totp, grant_roles, next_totp_code  # noqa: F401

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser_page):
    browser_page.set_viewport_size(PHONE)
    return browser_page


@pytest.fixture
def console(phone, admin):  # noqa: F811
    """The admin signed in with password and TOTP, on the dashboard, at phone width."""
    enrol_totp(admin)
    phone.goto("/console/")
    phone.fill("#id_username", admin.username)
    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit]:has-text('Sign in')")
    phone.fill("#id_code", next_totp_code(admin))
    phone.click("button[type=submit]:has-text('Verify')")
    expect(phone.get_by_role("heading", name="Dashboard")).to_be_visible()
    return phone


def overflow(page) -> int:
    """How far the page is wider than the viewport (0: no horizontal scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_audit_table_scrolls_inside_its_box_not_the_page(console):
    for n in range(5):
        audit.record(
            "client.secret_rotated",
            actor="automation-service-account-with-a-long-name",
            target=f"client:a-client-id-that-is-quite-long-indeed-{n}",
        )
    console.goto("/console/audit/")
    expect(console.locator("table.data tbody tr").first).to_be_visible()
    assert overflow(console) == 0
    table = console.locator("table.data")
    # the table is wider than the phone and scrolls on its own
    assert table.evaluate("t => t.scrollWidth > t.clientWidth")
    assert table.evaluate("t => getComputedStyle(t).overflowX") == "auto"
    shot(console, "phone-audit")


def test_the_menu_button_opens_the_navigation(console):
    nav = console.get_by_role("navigation", name="Console")
    users = nav.get_by_role("link", name="Users")
    expect(users).to_be_hidden()
    menu = nav.get_by_text("Menu")
    expect(menu).to_be_visible()
    shot(console, "phone-menu-closed")
    menu.click()
    expect(users).to_be_visible()
    shot(console, "phone-menu-open")
    users.click()
    console.wait_for_url("**/console/users/")
    expect(console.get_by_role("heading", name="Users")).to_be_visible()
    assert overflow(console) == 0


def test_the_navigation_is_open_without_a_menu_button_on_a_wide_screen(console):
    console.set_viewport_size({"width": 1280, "height": 800})
    nav = console.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    expect(nav.get_by_text("Menu")).to_be_hidden()


def test_the_first_tab_lands_on_the_skip_link_which_moves_to_the_content(console):
    console.keyboard.press("Tab")
    skip = console.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    console.keyboard.press("Enter")
    assert console.evaluate("document.activeElement.id") == "main"


def test_the_sign_in_page_fits_the_phone_and_starts_with_the_skip_link(phone):
    phone.goto("/accounts/login/")
    assert overflow(phone) == 0
    # the username field has the focus (autofocus); the skip link is before the brand link
    expect(phone.get_by_label("Username")).to_be_focused()
    phone.keyboard.press("Shift+Tab")
    phone.keyboard.press("Shift+Tab")
    expect(phone.get_by_role("link", name="Skip to content")).to_be_focused()
    shot(phone, "phone-login")


def test_a_missing_page_is_styled_like_the_console(phone):
    response = phone.goto("/no/such/page")
    assert response.status == 404
    expect(phone.get_by_role("heading", name="Page not found")).to_be_visible()
    card = phone.locator("main.card")
    assert card.evaluate("m => getComputedStyle(m).backgroundColor") == "rgb(255, 255, 255)"
    link = phone.get_by_role("link", name="Go to the start page")
    # the accent colour comes from the theme stylesheet (the brand's, by default #2450c8)
    assert link.evaluate("a => getComputedStyle(a).color") == "rgb(36, 80, 200)"
    assert overflow(phone) == 0
    shot(phone, "phone-404")


def test_the_brand_colour_reaches_the_buttons(phone, settings):
    settings.BRAND_PRIMARY_COLOR = "#0a7d55"
    phone.goto("/accounts/login/")
    button = phone.get_by_role("button", name="Sign in")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(10, 125, 85)"
