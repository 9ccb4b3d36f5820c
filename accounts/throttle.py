"""Failed sign-in throttling per username and per client IP (``core.throttle``).

The per-account limit protects one account from guessing, and is keyed by the typed username
whether or not such an account exists, so a block reveals nothing. The per-IP limit is far
higher, so a busy office behind one NAT address is not locked out by a few mistyped passwords.
One password per account is checked at a time: attempts sent together to several workers would
all pass the limit before the first of them failed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from django.conf import settings

from core.throttle import Limit, one_at_a_time, record_failure, reset, retry_after


def _account() -> Limit:
    return Limit(
        "login-account",
        settings.LOGIN_FAILURES_PER_ACCOUNT,
        settings.LOGIN_THROTTLE_WINDOW,
        settings.LOGIN_BACKOFF_SECONDS,
    )


def _ip() -> Limit:
    return Limit(
        "login-ip",
        settings.LOGIN_FAILURES_PER_IP,
        settings.LOGIN_THROTTLE_WINDOW,
        settings.LOGIN_BACKOFF_SECONDS,
    )


def _username_key(username: str) -> str:
    return username.strip().casefold()


def login_attempt(username: str) -> AbstractContextManager[bool]:
    """Whether this is the account's only sign-in being checked now (``one_at_a_time``)."""
    return one_at_a_time(_account(), _username_key(username))


def login_retry_after(username: str, ip: str | None) -> int:
    return retry_after((_account(), _username_key(username)), (_ip(), ip or ""))


def login_failed(username: str, ip: str | None) -> int:
    """Count a failed sign-in; returns the seconds of a block it started (0 if none)."""
    return max(record_failure(_account(), _username_key(username)), record_failure(_ip(), ip or ""))


def login_succeeded(username: str) -> None:
    """A right password resets the account's count (the IP's count stays)."""
    reset(_account(), _username_key(username))


def login_blocked_seconds(username: str) -> int:
    """Seconds the account's sign-in stays blocked (the per-IP block is not the account's)."""
    return retry_after((_account(), _username_key(username)))


def login_unblock(username: str) -> None:
    """An administrator lifts the account's block (and forgets its failures)."""
    reset(_account(), _username_key(username))
