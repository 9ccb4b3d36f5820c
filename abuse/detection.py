"""Counting failures per IP across accounts, in the shared cache (Redis in production).

Each failure from an IP adds to the IP's failure count; the first failure on an account (a
username typed at sign-in, or ``client:<client_id>`` at the token endpoint) within the window
adds to its count of distinct accounts. When both reach their thresholds the IP is reported,
and reported again every ``ABUSE_IP_REQUEUE_SECONDS`` while its failures go on: a block stops
them (blocked requests are refused before any failure is counted), so a report whose task was
lost (a worker killed before it wrote the block) is followed by another, not by a whole window
without a block. Keys hold SHA-256 digests, never the address or the account.

Cache errors raise ``ThrottleUnavailable``, as the other throttles do, so callers fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from abuse import networks
from core.crypto import sha256_hex
from core.ratelimit import count
from core.throttle import ThrottleUnavailable


@dataclass(frozen=True)
class Tally:
    failures: int
    accounts: int


def _prefix(ip: str) -> str:
    return f"abuse:ip:{sha256_hex(ip)}"


def record_failure(ip: str | None, account: str) -> Tally | None:
    """Count one failure of ``account`` from ``ip``; a ``Tally`` when the IP is over the
    thresholds and was not reported in the last ``ABUSE_IP_REQUEUE_SECONDS``, else None."""
    address = networks.address(ip)
    if address is None or networks.allowlisted(address):
        return None
    prefix, window = _prefix(str(address)), settings.ABUSE_IP_WINDOW
    try:
        failures = count(f"{prefix}:failures", window)
        if cache.add(f"{prefix}:account:{sha256_hex(account)}", 1, timeout=window):
            accounts = count(f"{prefix}:accounts", window)
        else:
            accounts = cache.get(f"{prefix}:accounts") or 0
        crossed = (
            failures >= settings.ABUSE_IP_FAILURES and accounts >= settings.ABUSE_IP_MIN_ACCOUNTS
        )
        requeue = min(settings.ABUSE_IP_REQUEUE_SECONDS, window)
        if crossed and cache.add(f"{prefix}:reported", 1, timeout=requeue):
            return Tally(failures, accounts)
    except Exception as exc:
        raise ThrottleUnavailable(str(exc)) from exc
    return None


def unreport(ip: str) -> None:
    """Let the next failure report ``ip`` again (its report could not be queued)."""
    cache.delete(f"{_prefix(ip)}:reported")


def forget(ip: str) -> None:
    """Start counting ``ip`` afresh (its block was lifted by an admin)."""
    address = networks.address(ip)
    if address is None:
        return
    prefix = _prefix(str(address))
    cache.delete_many([f"{prefix}:failures", f"{prefix}:accounts", f"{prefix}:reported"])
