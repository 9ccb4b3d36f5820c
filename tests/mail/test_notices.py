"""Security notifications, read from a real SMTP server: a second factor added or removed, a
sign-in from a device or network not seen before, an account locked (at most once an hour)."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.test import Client

from core.actors import APPLY
from mfa import services as mfa_services
from tests.conftest import login
from tests.mailbox import text_of

pytestmark = pytest.mark.django_db(transaction=True)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
FIREFOX_NEXT = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def _quiet(mailbox, address: str = "alice@example.com") -> list:
    time.sleep(0.3)
    return mailbox.to(address)


def test_a_second_factor_added_then_reset_is_reported(mailbox, make_user) -> None:
    user = make_user("alice")
    secret = pyotp.random_base32()
    assert mfa_services.authenticator_totp_activate(
        user=user, secret=secret, code=pyotp.TOTP(secret).now()
    )
    [added] = mailbox.wait("alice@example.com")
    assert added["Subject"] == "A second factor was added to your authserver account"
    assert "A second factor was added to your account alice" in text_of(added)
    assert "an authenticator app" in text_of(added)
    mfa_services.authenticators_reset(actor=APPLY, user=user)
    removed = mailbox.wait("alice@example.com", 2)[-1]
    assert removed["Subject"] == "A second factor was removed from your authserver account"
    assert "removed from your account alice" in text_of(removed)
    assert "every second factor" in text_of(removed)


def test_a_sign_in_from_a_new_device_is_reported_once(mailbox, make_user) -> None:
    make_user("alice")
    assert login(Client(HTTP_USER_AGENT=FIREFOX), "alice").status_code == 302
    assert _quiet(mailbox) == []  # the first sign-in ever is only recorded
    assert login(Client(HTTP_USER_AGENT=FIREFOX_NEXT), "alice").status_code == 302
    assert _quiet(mailbox) == []  # a browser update is the same device
    assert login(Client(HTTP_USER_AGENT=CHROME), "alice").status_code == 302
    [notice] = mailbox.wait("alice@example.com")
    assert notice["Subject"] == "New sign-in to your authserver account"
    assert "Browser: " + CHROME in text_of(notice) and "Address: 127.0.0.1" in text_of(notice)
    assert login(Client(HTTP_USER_AGENT=CHROME), "alice").status_code == 302
    assert len(_quiet(mailbox)) == 1


def test_a_locked_account_is_told_once_an_hour(mailbox, make_user, settings) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.LOGIN_BACKOFF_SECONDS = 1
    make_user("alice")
    for _ in range(2):
        login(Client(), "alice", "wrong password")
    [notice] = mailbox.wait("alice@example.com")
    assert notice["Subject"] == "Sign-in to your authserver account is paused"
    assert "someone may be guessing your password" in text_of(notice)
    time.sleep(1.1)  # the block lapses; the next failure blocks again
    login(Client(), "alice", "wrong password")
    assert len(_quiet(mailbox)) == 1
    login(Client(), "nobody", "wrong password")  # no account, nobody to tell
    assert [m["To"] for m in mailbox.messages] == ["alice@example.com"]
