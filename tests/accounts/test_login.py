"""The sign-in page: CSRF-protected, no user enumeration, Argon2id, safe redirects."""

import pytest
from django.test import Client as Browser

from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.django_db


def test_successful_login_redirects_with_303_or_302_and_rotates_session(client, make_user):
    make_user("alice")
    client.get("/accounts/login/")
    response = login(client, "alice")
    assert response.status_code in (302, 303)
    assert "_auth_user_id" in client.session


def test_unknown_user_and_wrong_password_look_the_same(client, make_user):
    make_user("alice")
    unknown = login(client, "mallory", "whatever-password")
    wrong = login(client, "alice", "wrong-password-here")
    assert unknown.status_code == wrong.status_code == 200
    assert b"The username or password is not right" in unknown.content
    assert unknown.content.count(b"not right") == wrong.content.count(b"not right")


def test_inactive_user_cannot_sign_in_and_is_not_revealed(client, make_user):
    make_user("alice", is_active=False)
    response = login(client, "alice")
    assert response.status_code == 200 and b"not right" in response.content
    assert "_auth_user_id" not in client.session


def test_login_post_without_csrf_token_is_refused(make_user):
    make_user("alice")
    browser = Browser(enforce_csrf_checks=True)
    response = browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_login_page_sends_anti_framing_headers(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_open_redirect_after_login_is_refused(client, make_user):
    make_user("alice")
    page = client.get("/accounts/login/", {"next": "https://evil.example/"})
    assert b"https://evil.example/" not in page.content  # not even echoed into the form
    import re

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(
        "/accounts/login/",
        {
            "username": "alice",
            "password": PASSWORD,
            "next": "https://evil.example/",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302 and not response["Location"].startswith(
        "https://evil.example"
    )
