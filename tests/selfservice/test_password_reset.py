"""Password reset by mail, end to end against a real SMTP server: the link works once, expires,
dies with a newer link or a password change; completing it ends the user's sessions and
refresh tokens and the second factor is still asked; an unknown address gets the same answer
and no mail; throttled per address and per client address; never logged."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from selfservice.models import Link
from tests.conftest import PASSWORD, login
from tests.flows import authorize, exchange
from tests.mailbox import link_in, text_of

NEW_PASSWORD = "a brand new passphrase 42"
pytestmark = pytest.mark.django_db(transaction=True)


def _ask(client: Client, email: str):
    return client.post("/password/forgot/", {"email": email})


def _reset_link(mailbox, client: Client, email: str = "alice@example.com", count: int = 1) -> str:
    response = _ask(client, email)
    assert response.status_code == 200
    return link_in(mailbox.wait(email, count)[-1], "/password/reset/")


def _set(client: Client, link: str, password: str = NEW_PASSWORD):
    return client.post(link, {"password": password, "password2": password})


def test_the_login_page_links_to_the_form(client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/password/forgot/"' in page and "Forgot password?" in page


def test_a_reset_link_followed_end_to_end_works_once(
    mailbox, client, make_user, web_client
) -> None:
    user = make_user("alice")
    app, secret = web_client
    login(client, "alice")
    code, verifier = authorize(client, app.client_id)
    refresh = exchange(client, app.client_id, secret, code, verifier).json()["refresh_token"]

    link = _reset_link(mailbox, Client())
    assert re.fullmatch(r"/password/reset/[A-Za-z0-9_-]{43}", link)
    form = Client().get(link)
    assert form.status_code == 200 and "alice" in form.content.decode()
    assert form["Cache-Control"].startswith("max-age=0")
    done = _set(Client(), link)
    assert done.status_code == 200 and "Password changed" in done.content.decode()

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # every browser session ends (the old one is signed out) ...
    assert client.get("/mfa/").status_code == 302
    # ... and every refresh token
    refused = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh},
        HTTP_AUTHORIZATION=_basic(app.client_id, secret),
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # the link works once
    again = Client().get(link)
    assert again.status_code == 410 and "This link was used" in again.content.decode()
    assert _set(Client(), link, "yet another passphrase 7").status_code == 410
    # the holder is told, and the old password no longer signs in
    notice = mailbox.wait("alice@example.com", 2)[-1]
    assert notice["Subject"] == "Your authserver password was changed"
    assert "Every session and application sign-in of the account was ended." in text_of(notice)
    assert login(Client(), "alice", PASSWORD).status_code == 200  # the form again: refused
    assert login(Client(), "alice", NEW_PASSWORD).status_code == 302
    events = list(AuditEvent.objects.filter(target="alice").values_list("event", flat=True))
    assert {"password.reset_requested", "user.password_set", "password.reset"} <= set(events)
    assert not any(link.rsplit("/", 1)[1] in str(e.data) for e in AuditEvent.objects.all())


def _basic(client_id: str, secret: str) -> str:
    from tests.conftest import basic_auth

    return basic_auth(client_id, secret)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(mailbox, make_user) -> None:
    make_user("alice")
    known = _ask(Client(), "alice@example.com")
    unknown = _ask(Client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    same = known.content.decode().replace("alice@example.com", "X")
    assert same == unknown.content.decode().replace("nobody@example.com", "X")
    mailbox.wait("alice@example.com")
    time.sleep(0.5)  # a send would come from the same thread machinery by now
    assert mailbox.to("nobody@example.com") == []
    assert [m["To"] for m in mailbox.messages] == ["alice@example.com"]


def test_a_newer_link_replaces_the_older(mailbox, make_user) -> None:
    make_user("alice")
    first = _reset_link(mailbox, Client())
    second = _reset_link(mailbox, Client(), count=2)
    assert first != second
    assert Client().get(first).status_code == 404
    assert _set(Client(), first).status_code == 404
    assert _set(Client(), second).status_code == 200


def test_an_expired_link_is_refused(mailbox, make_user) -> None:
    make_user("alice")
    link = _reset_link(mailbox, Client())
    Link.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = Client().get(link)
    assert page.status_code == 410 and "This link has expired" in page.content.decode()
    assert _set(Client(), link).status_code == 410


def test_a_password_change_kills_the_link(mailbox, make_user) -> None:
    from core.actors import APPLY
    from oauth import services

    user = make_user("alice")
    link = _reset_link(mailbox, Client())
    services.user_set_password(actor=APPLY, user=user, password="changed elsewhere 99")
    assert Client().get(link).status_code == 404


def test_with_a_second_factor_the_next_sign_in_still_asks_for_it(mailbox, make_user) -> None:
    make_user("alice", mfa_required=True)
    link = _reset_link(mailbox, Client())
    assert _set(Client(), link).status_code == 200
    response = login(Client(), "alice", NEW_PASSWORD)
    assert response.status_code == 302 and response["Location"].startswith("/mfa/")


def test_a_weak_password_is_refused_on_the_form(mailbox, make_user) -> None:
    make_user("alice")
    link = _reset_link(mailbox, Client())
    weak = _set(Client(), link, "password")
    assert weak.status_code == 400 and 'id="password-error"' in weak.content.decode()
    mismatch = Client().post(link, {"password": NEW_PASSWORD, "password2": "other thing 1"})
    assert mismatch.status_code == 400 and "not the same" in mismatch.content.decode()
    assert Client().get(link).status_code == 200  # still usable


def test_requests_are_throttled_per_address_and_per_client_address(
    mailbox, make_user, settings
) -> None:
    settings.PASSWORD_RESET_PER_ADDRESS = 2
    settings.PASSWORD_RESET_PER_IP = 4
    for _ in range(2):
        assert _ask(Client(), "nobody@example.com").status_code == 200
    blocked = _ask(Client(), "NOBODY@example.com")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert _ask(Client(), "other@example.com").status_code == 200
    assert _ask(Client(), "third@example.com").status_code == 429  # fifth from this address


def test_the_token_is_masked_in_the_access_log() -> None:
    from authserver.gunicorn_logging import _path

    assert _path({"PATH_INFO": "/password/reset/abcDEF_123"}) == "/password/reset/<token>"
    assert _path({"PATH_INFO": "/email/verify/abcDEF_123"}) == "/email/verify/<token>"
    assert _path({"PATH_INFO": "/password/forgot/"}) == "/password/forgot/"
