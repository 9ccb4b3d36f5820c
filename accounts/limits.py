"""Failed sign-in limits per username and per client IP (``core.limits``).

The per-account limit protects one account from guessing, and is keyed by the typed username
whether or not such an account exists, so a block reveals nothing. The per-IP limit is far
higher, so a busy office behind one NAT address is not locked out by a few mistyped passwords.
One password per account is checked at a time (``core.limits.one_at_a_time``): attempts sent
together to several workers would all pass the limit before the first of them failed. A right
password resets the account's count (the IP's count stays).
"""

from __future__ import annotations

from core.limits import Limit


def account_key(username: str) -> str:
    """The account a typed username names, for counting (``Alice `` is ``alice``)."""
    return username.strip().casefold()


LOGIN_PER_ACCOUNT = Limit(
    "login-account",
    failures="LOGIN_FAILURES_PER_ACCOUNT",
    window="LOGIN_THROTTLE_WINDOW",
    backoff="LOGIN_BACKOFF_SECONDS",
    normalize=account_key,
)
LOGIN_PER_IP = Limit(
    "login-ip",
    failures="LOGIN_FAILURES_PER_IP",
    window="LOGIN_THROTTLE_WINDOW",
    backoff="LOGIN_BACKOFF_SECONDS",
)


def login_checks(username: str, ip: str | None) -> tuple[tuple[Limit, str | None], ...]:
    """The limits a sign-in is checked and counted against (``core.limits.retry_after``,
    ``record_failure``): its account and its client IP (None: unknown, not limited)."""
    return (LOGIN_PER_ACCOUNT, username), (LOGIN_PER_IP, ip)
