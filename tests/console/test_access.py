"""Who may see the console: signed in, ``console:access``, a multi-factor session, and the
action's own permission; plus the headers and CSRF protection every console page carries."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import User
from console import access
from tests.console.conftest import sign_in

PAGES = [
    "/console/",
    "/console/users/",
    "/console/users/new/",
    "/console/roles/",
    "/console/roles/new/",
    "/console/groups/",
    "/console/groups/new/",
    "/console/clients/",
    "/console/clients/new/",
    "/console/apis/",
    "/console/apis/new/",
    "/console/tokens/",
    "/console/api-keys/",
    "/console/api-keys/new/",
    "/console/users/locked/",
    "/console/audit/",
]


@pytest.fixture
def member(make_user, grant_roles):
    """A user with console access and nothing else."""
    user = make_user("mia")
    grant_roles(user, access.CONSOLE_ACCESS)
    return user


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get("/console/users/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/console/users/"


def test_a_user_without_console_access_is_refused(client, make_user, grant_roles):
    user = make_user("nina")
    grant_roles(user, access.USERS_READ)  # an action permission alone is not enough
    sign_in(client, user)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "No console access" in response.content.decode()


def test_a_superuser_flag_gives_no_access(client, make_user):
    user = make_user("sudo")
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    sign_in(client, user)
    assert client.get("/console/").status_code == 403


def test_a_password_only_session_is_asked_for_a_second_factor(client, admin):
    sign_in(client, admin, multi_factor=False)
    response = client.get("/console/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Sign in with a second factor" in page
    assert "signed in with a password only" in page
    assert 'action="/accounts/logout/"' in page


def test_each_page_needs_its_own_permission(client, member):
    sign_in(client, member)
    assert client.get("/console/").status_code == 200
    for path in PAGES[1:]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert re.search(r"needs the <code>\w+:\w+</code> permission", response.content.decode())


def test_navigation_shows_only_what_the_user_may_open(client, member, grant_roles):
    grant_roles(member, access.AUDIT_READ)
    sign_in(client, member)
    page = client.get("/console/").content.decode()
    assert 'href="/console/audit/"' in page
    assert 'href="/console/users/"' not in page
    assert 'href="/console/roles/"' not in page


def test_reading_does_not_allow_writing(client, member, grant_roles, make_user):
    grant_roles(member, access.USERS_READ)
    target = make_user("olga")
    sign_in(client, member)
    detail = client.get(f"/console/users/{target.pk}/").content.decode()
    assert "Disable" not in detail and "Save roles" not in detail
    assert client.get("/console/users/new/").status_code == 403
    response = client.post(f"/console/users/{target.pk}/active/")
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active


def test_console_pages_send_strict_headers_and_no_inline_code(console, make_client):
    client_, _ = make_client(client_id="c1", name="C1")
    for path in [*PAGES, f"/console/clients/{client_.pk}/", "/console/reauth/"]:
        response = console.get(path)
        assert response.status_code == 200, path
        assert response["X-Frame-Options"] == "DENY"
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert "no-store" in response["Cache-Control"]
        html = response.content.decode()
        assert "<script" not in html
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son\w+=", html), path  # no inline event handlers


def test_posts_without_a_csrf_token_are_refused(admin, make_user):
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, admin)
    target = make_user("pete")
    response = browser.post(f"/console/users/{target.pk}/active/")
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active
    response = browser.post("/console/roles/new/", {"name": "sneaky"})
    assert response.status_code == 403


def test_posts_with_the_csrf_token_work(admin, make_user):
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, admin)
    target = make_user("quinn")
    page = browser.get(f"/console/users/{target.pk}/active/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = browser.post(f"/console/users/{target.pk}/active/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    target.refresh_from_db()
    assert not target.is_active


def test_unknown_objects_are_404_not_500(console):
    for path in ["/console/users/999/", "/console/roles/999/", "/console/clients/999/"]:
        assert console.get(path).status_code == 404
    missing_family = "/console/tokens/sessions/00000000-0000-0000-0000-000000000000/revoke/"
    assert console.get(missing_family).status_code == 404
    assert console.get("/console/users/?page=abc").status_code == 200
