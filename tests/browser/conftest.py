"""Playwright driving Debian's chromium against pytest-django's live server.

Skipped with a reason when /usr/bin/chromium is missing (``apt-get install chromium``); the
browser comes from Debian, never from ``playwright install``. Screenshots go to
``var/screenshots/`` (kept as CI artifacts).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(chromium, live_server, settings):
    """A page of a fresh context of the module's chromium, on the live server."""
    # WebAuthn needs a secure context: http://localhost is one, 127.0.0.1 may not be.
    url = live_server.url.replace("127.0.0.1", "localhost")
    settings.ISSUER_URL = url
    settings.CSRF_TRUSTED_ORIGINS = [url]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(base_url=url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in_with_password(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]:has-text('Sign in')")
