"""A new operator's first session, in a real browser, from a fresh database: the setup link,
the first administrator with TOTP, an API, a role with a permission nobody held before, a client
that may use the API, the role given to it until a date, the configuration exported, the
configuration wiped, the export uploaded and applied, and the same console again. Each main page
is kept as a screenshot at desktop and phone width (``docs/screenshots/`` holds a copy)."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from oauth.models import Api, Client
from roles.models import Role
from tests.browser.conftest import shot
from tests.browser.test_first_run import create_administrator
from tests.console.test_browser import nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def both_widths(page: Page, name: str) -> None:
    shot(page, f"operator-{name}")
    page.set_viewport_size(PHONE)
    shot(page, f"operator-{name}-phone")
    page.set_viewport_size(DESKTOP)


def the_console_holds_the_configuration(page: Page) -> None:
    nav(page, "APIs")
    expect(page.get_by_role("cell", name="Wiki", exact=True)).to_be_visible()
    nav(page, "Roles")
    expect(page.get_by_role("link", name="wiki-admin", exact=True)).to_be_visible()
    nav(page, "Clients")
    page.get_by_role("link", name="Wiki bot").click()
    expect(page.get_by_text("https://wiki.example.com/").first).to_be_visible()
    expect(page.get_by_text("wiki-admin").first).to_be_visible()
    expect(page.get_by_text(re.compile("2030-01-01")).first).to_be_visible()


def test_a_new_operator_sets_up_the_server_and_moves_its_configuration(
    browser_page, builtin_roles, tmp_path
):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    create_administrator(page)
    page.fill("#id_code", pyotp.TOTP(page.inner_text("#totp-secret").strip()).now())
    page.click("button:has-text('Turn on')")
    page.click("#continue")
    page.wait_for_url("**/console/")
    both_widths(page, "01-dashboard")

    nav(page, "APIs")
    page.get_by_role("link", name="Register an API").click()
    page.get_by_label("Identifier").fill("https://wiki.example.com/")
    page.get_by_label("Name").fill("Wiki")
    page.get_by_label("Scopes").fill("wiki:read wiki:admin")
    page.get_by_role("button", name="Register API").click()
    expect(page.get_by_text("API Wiki registered.")).to_be_visible()
    both_widths(page, "02-apis")

    nav(page, "Roles")
    page.get_by_role("link", name="New role").click()
    page.get_by_label("Name").fill("wiki-admin")
    page.get_by_label("Permissions").fill("wiki:admin")  # held by nobody yet: roles:define
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_text("Role wiki-admin created.")).to_be_visible()
    both_widths(page, "03-role")

    nav(page, "Clients")
    page.get_by_role("link", name="New client").click()
    page.get_by_label("Name", exact=True).fill("Wiki bot")
    page.get_by_role("checkbox", name=re.compile("Authorization code")).uncheck()
    page.get_by_role("checkbox", name=re.compile("Client credentials")).check()
    page.get_by_role("checkbox", name="Wiki (https://wiki.example.com/)").check()
    both_widths(page, "04-client-form")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_text("It is shown only this once")).to_be_visible()
    page.get_by_role("link", name="I have stored it: continue").click()

    form = page.get_by_role("form", name="Give a role until a time")
    form.get_by_label("Role").select_option("wiki-admin")
    form.get_by_label("Until (UTC)").fill("2030-01-01T00:00")
    form.get_by_role("button", name="Give role").click()
    the_console_holds_the_configuration(page)
    both_widths(page, "05-client")

    nav(page, "Configuration file")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the configuration").click()
    exported = tmp_path / "authserver.yaml"
    exported.write_text(Path(download.value.path()).read_text())
    assert "wiki-admin" in exported.read_text()

    # Wiped: the API, the role and the client are gone (the administrator stays to upload).
    Client.objects.filter(name="Wiki bot").delete()
    Role.objects.filter(name="wiki-admin").delete()
    Api.objects.filter(name="Wiki").delete()
    nav(page, "Roles")
    expect(page.get_by_role("link", name="wiki-admin", exact=True)).to_have_count(0)

    nav(page, "Configuration file")
    page.get_by_label("Configuration file (YAML)").set_input_files(str(exported))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Apply authserver.yaml?")).to_be_visible()
    expect(page.locator("tr.plan-created", has_text="wiki-admin")).to_be_visible()
    both_widths(page, "06-import-plan")
    page.get_by_role("button", name="Apply the file").click()
    expect(page.get_by_role("heading", name="authserver.yaml applied")).to_be_visible()
    the_console_holds_the_configuration(page)
