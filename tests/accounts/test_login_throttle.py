"""Failed sign-in throttling: per account and per IP, temporary, no account enumeration."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches

from accounts.limits import LOGIN_PER_ACCOUNT
from audit.models import AuditEvent
from core import limits
from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(clock):
    """The project's clock at a round time (window boundaries at multiples of 600 s)."""
    clock.set(1_800_000_000.0)
    return clock


def body_without_csrf(response) -> str:
    return re.sub(r'value="[^"]+"', "", response.content.decode())


def fail(browser, username: str = "alice", ip: str = "203.0.113.7"):
    return browser.post(
        "/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=ip
    )


def test_account_is_blocked_after_five_failures_even_with_the_right_password(
    client, make_user, clock
):
    make_user("alice")
    for _ in range(5):
        assert fail(client).status_code == 200
    response = login(client, "alice")
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert AuditEvent.objects.filter(event="login.throttled").count() == 1
    assert AuditEvent.objects.filter(event="login", outcome="denied").count() == 1


def test_a_block_outlives_a_flush_of_the_counters_cache(client, make_user, clock, settings):
    """The counters' cache (Redis in production) is flushed, or an outage hands its work to a
    stand-in: the block is in the database (the ``blocks`` cache) and still holds."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "blocks": {"BACKEND": "core.cache.DatabaseCache", "LOCATION": "default"},
    }
    make_user("alice")
    for _ in range(5):
        fail(client)
    caches["default"].clear()
    assert login(client, "alice").status_code == 200
    assert SESSION_KEY not in client.session


def test_block_is_temporary_and_the_backoff_grows(client, make_user, clock, settings):
    make_user("alice")
    for _ in range(5):
        fail(client)
    clock.advance(settings.LOGIN_BACKOFF_SECONDS + 1)
    fail(client)  # the sixth failure blocks twice as long
    clock.advance(settings.LOGIN_BACKOFF_SECONDS + 1)
    assert SESSION_KEY not in client.session
    assert login(client, "alice").status_code == 200  # still blocked (60 s)
    clock.advance(settings.LOGIN_BACKOFF_SECONDS)
    assert login(client, "alice").status_code == 302  # the real user gets in


def test_unknown_user_wrong_password_and_blocked_look_the_same(client, make_user, clock):
    make_user("alice")
    wrong = fail(client, "alice")
    unknown = fail(client, "nobody-here")
    for _ in range(5):
        fail(client, "alice")
    blocked = login(client, "alice")
    assert wrong.status_code == unknown.status_code == blocked.status_code == 200
    assert body_without_csrf(wrong) == body_without_csrf(unknown) == body_without_csrf(blocked)


def test_unknown_usernames_are_throttled_like_real_ones(client, clock):
    for _ in range(5):
        fail(client, "ghost")
    assert AuditEvent.objects.filter(event="login.throttled", target="ghost").count() == 1


def test_a_right_password_resets_the_account_count(client, make_user, clock):
    make_user("alice")
    for _ in range(4):
        fail(client)
    assert login(client, "alice").status_code == 302
    client.logout()
    for _ in range(4):
        fail(client)
    assert login(client, "alice").status_code == 302


def test_password_spraying_from_one_ip_is_throttled_per_ip(client, make_user, clock, settings):
    settings.LOGIN_FAILURES_PER_IP = 6
    make_user("victim")
    for n in range(6):
        fail(client, f"user{n}", ip="198.51.100.1")
    blocked = client.post(
        "/accounts/login/",
        {"username": "victim", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.1",
    )
    assert blocked.status_code == 200 and SESSION_KEY not in client.session
    other_ip = client.post(
        "/accounts/login/",
        {"username": "victim", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.2",
    )
    assert other_ip.status_code == 302


def test_ip_limit_sits_far_above_the_account_limit(settings):
    assert settings.LOGIN_FAILURES_PER_IP >= 10 * settings.LOGIN_FAILURES_PER_ACCOUNT


class BrokenStore:
    def __getattr__(self, name: str):
        raise ConnectionError("store down")


@pytest.mark.parametrize("store", ["counters", "blocks"])
def test_cache_outage_fails_closed(client, make_user, monkeypatch, store):
    """The counters' cache (Redis, or its stand-in) or the blocks' table cannot be reached."""
    make_user("alice")
    if store == "counters":
        monkeypatch.setattr(limits, "cache", BrokenStore())
    else:
        monkeypatch.setattr(limits, "_blocks", BrokenStore)
    response = login(client, "alice")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert SESSION_KEY not in client.session


def test_no_password_is_checked_while_another_of_the_account_is(client, make_user, clock):
    make_user("alice")
    with limits.one_at_a_time(LOGIN_PER_ACCOUNT, "alice") as alone:  # another worker checks one now
        assert alone
        refused = login(client, "alice")
    assert refused.status_code == 200 and SESSION_KEY not in client.session
    denied = AuditEvent.objects.filter(event="login", outcome="denied")
    assert [event.data["reason"] for event in denied] == ["throttled"]
    assert login(client, "alice").status_code == 302  # the slot is free again
