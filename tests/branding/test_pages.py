"""The brand on the end-user pages and the console chrome, the theme stylesheet, the error
pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import RequestFactory

from authserver import ops
from authserver.middleware import CONTENT_SECURITY_POLICY
from branding import checks, services
from core.actors import APPLY
from tests.console.conftest import admin, grant_roles, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_the_default_brand_is_authserver(client):
    page = client.get("/accounts/login/").content.decode()
    assert "<title>Sign in · authserver</title>" in page
    assert '<a href="/" class="brand">authserver</a>' in page


def test_brand_settings_appear_on_the_sign_in_page(client, settings):
    settings.BRAND_NAME = "Acme ID"
    settings.BRAND_LOGO_URL = "/static/brand/acme.svg"
    settings.SUPPORT_URL = "https://help.acme.example/"
    page = client.get("/accounts/login/").content.decode()
    assert "<title>Sign in · Acme ID</title>" in page
    assert "<h1>Sign in to Acme ID</h1>" in page
    assert '<img src="/static/brand/acme.svg" alt="" class="logo">Acme ID</a>' in page
    support = '<a href="https://help.acme.example/" rel="noopener">Need help? Contact support</a>'
    assert support in page
    assert "authserver" not in page.replace("css/authserver.css", "")


def test_the_theme_stylesheet_carries_the_validated_colour(client, settings):
    settings.BRAND_PRIMARY_COLOR = "#F5B"
    response = client.get("/branding/theme.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    # #ff55bb normalised, with black text: it reads better on that pink than white does
    assert response.content.decode() == ":root { --accent: #ff55bb; --on-accent: #000000; }\n"
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="stylesheet" href="/branding/theme.css">' in page


@pytest.mark.parametrize(
    "value", ["red; } body { display: none", "#12345g", "url(https://evil.example/x)", "#1234"]
)
def test_a_colour_that_is_not_a_hex_literal_never_reaches_the_stylesheet(client, settings, value):
    settings.BRAND_PRIMARY_COLOR = value
    css = client.get("/branding/theme.css").content.decode()
    assert css == ":root { --accent: #2450c8; --on-accent: #ffffff; }\n"
    errors = checks.brand_settings()
    assert [e.id for e in errors] == ["branding.E001"]
    assert "BRAND_PRIMARY_COLOR must be a hex colour" in errors[0].msg


def test_a_logo_elsewhere_or_a_script_link_is_refused_by_the_check(settings):
    settings.BRAND_LOGO_URL = "https://cdn.example/logo.png"
    settings.SUPPORT_URL = "javascript:alert(1)"
    assert sorted(e.msg.split()[0] for e in checks.brand_settings()) == [
        "BRAND_LOGO_URL",
        "SUPPORT_URL",
    ]


def test_the_pages_keep_the_strict_content_security_policy(client, settings):
    settings.BRAND_PRIMARY_COLOR = "#0a7d55"
    response = client.get("/accounts/login/")
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "style-src 'self';" in CONTENT_SECURITY_POLICY
    assert "style=" not in response.content.decode()


def test_a_stored_brand_wins_over_the_settings_and_is_seen_at_once(client, settings):
    settings.BRAND_NAME = "From settings"
    assert "From settings" in client.get("/accounts/login/").content.decode()
    assert services.brand_update(actor=APPLY, name="Stored", primary_color="#0a7d55")
    page = client.get("/accounts/login/").content.decode()
    assert "<h1>Sign in to Stored</h1>" in page and "From settings" not in page
    assert "--accent: #0a7d55;" in client.get("/branding/theme.css").content.decode()
    # an empty value hands the field back to its setting
    assert services.brand_update(actor=APPLY, name="")
    assert "<h1>Sign in to From settings</h1>" in client.get("/accounts/login/").content.decode()


def test_the_console_chrome_carries_the_brand(client, settings, admin):  # noqa: F811
    settings.BRAND_NAME = "Acme ID"
    sign_in(client, admin)
    page = client.get("/console/").content.decode()
    assert "· Acme ID console</title>" in page
    assert '<summary class="menu-button">Menu</summary>' in page
    # the skip link is the first thing in the body: the first Tab lands on it
    body = page.split("<body>", 1)[1].lstrip()
    assert body.startswith('<a class="skip-link" href="#main">Skip to content</a>')
    assert '<main class="content" id="main" tabindex="-1">' in page


def test_a_missing_page_is_the_styled_404(client, settings):
    settings.BRAND_NAME = "Acme ID"
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<title>Page not found · Acme ID</title>" in page
    assert '<link rel="stylesheet" href="/static/css/authserver.css">' in page
    assert '<main class="card" id="main" tabindex="-1">' in page


def test_a_browser_gets_the_styled_500_and_a_machine_json(settings):
    rf = RequestFactory()
    page = ops.server_error(rf.get("/accounts/login/", HTTP_ACCEPT="text/html,*/*"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "<h1>Something went wrong</h1>" in text and "Traceback" not in text
    assert '<link rel="stylesheet" href="/static/css/authserver.css">' in text
    machine = ops.server_error(rf.get("/o/token/", HTTP_ACCEPT="text/html"))
    assert machine["Content-Type"] == "application/json"


def test_the_device_page_is_styled_and_explains_a_wrong_code(client, make_user):
    from tests.conftest import login

    make_user("alice")
    login(client, "alice")
    page = client.get("/device")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<h1>Connect a device</h1>" in text and "<html>" not in text.split("<body>")[1]
    wrong = client.post("/device", {"user_code": "NOPE-NOPE"}).content.decode()
    assert "This code is not right. Check it on your device and try again." in wrong
    assert 'aria-invalid="true"' in wrong


def test_the_brand_check_passes_with_the_defaults():
    assert checks.brand_settings() == []
    call_command("check")


def test_a_database_outage_is_the_views_503_not_a_language_error(client, monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    client.cookies["sessionid"] = "a-session-key"

    def down(self):
        raise OperationalError("the database is down")

    monkeypatch.setattr(SessionStore, "load", down)
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_an_error_page_during_an_outage_shows_the_configured_brand(settings, monkeypatch):
    from django.db import OperationalError

    from branding import selectors
    from core import generations

    settings.BRAND_NAME = "Acme ID"

    def down():
        raise OperationalError("the database is down")

    monkeypatch.setattr(generations, "current", down)
    assert selectors.current().name == "Acme ID"
