"""A user with a second factor: the sign-in's second step records the browser session, and a
change on the account page needs a recent multi-factor sign-in."""

from __future__ import annotations

import pytest

from accounts.session import auth_state
from selfservice.models import BrowserSession
from tests.mfa.conftest import clock, full_login, password_step, totp_user  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_second_step_records_the_session_with_its_sign_in_id(client, totp_user, clock):  # noqa: F811
    user, secret = totp_user
    assert password_step(client).status_code == 302
    assert not BrowserSession.objects.exists()  # the password alone signs nobody in
    assert full_login(client, secret, clock).status_code == 302
    row = BrowserSession.objects.get(user=user)
    request = type("R", (), {"session": client.session})()
    assert row.session_id == client.session.session_key
    assert row.sid and row.sid == auth_state(request)["sid"]


def test_a_change_needs_a_multi_factor_sign_in_this_recent(
    client,
    totp_user,  # noqa: F811
    clock,  # noqa: F811
):
    user, secret = totp_user
    full_login(client, secret, clock)
    assert client.post("/account/", {"name": "Alice"})["Location"] == "/account/"
    clock.advance(601)
    response = client.post("/account/", {"name": "Mallory"})
    assert response["Location"] == "/accounts/login/?next=/account/"
    user.refresh_from_db()
    assert user.name == "Alice"
