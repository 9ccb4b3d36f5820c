"""Counting failures per IP across accounts, in the shared cache (``core.limits``).

Each failure from an IP adds to the IP's failure count; the first failure on an account (a
username typed at sign-in, or ``client:<client_id>`` at the token endpoint) within the window
adds to its count of distinct accounts. When both reach their thresholds (``IP_FAILURES``,
``IP_ACCOUNTS``) the IP is reported, and reported again every ``ABUSE_IP_REQUEUE_SECONDS``
while its failures go on: a block stops them (blocked requests are refused before any failure
is counted), so a report whose task was lost (a worker killed before it wrote the block) is
followed by another, not by a whole window without a block. Keys hold SHA-256 digests, never
the address or the account.

Store errors raise ``core.limits.LimitUnavailable``, as the other limits do, so callers fail
closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from abuse import networks
from core import limits
from core.crypto import sha256_hex

WINDOW = "ABUSE_IP_WINDOW"
IP_FAILURES = "ABUSE_IP_FAILURES"  # failures from one IP within the window
IP_ACCOUNTS = "ABUSE_IP_MIN_ACCOUNTS"  # on at least this many distinct accounts
REQUEUE = "ABUSE_IP_REQUEUE_SECONDS"  # an IP still failing is reported again this often


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
    prefix, window = _prefix(str(address)), limits.value(WINDOW)
    with limits.guarded():
        failures = limits.count(f"{prefix}:failures", window)
        if limits.first(f"{prefix}:account:{sha256_hex(account)}", window):
            accounts = limits.count(f"{prefix}:accounts", window)
        else:
            accounts = limits.current(f"{prefix}:accounts")
        crossed = failures >= limits.value(IP_FAILURES) and accounts >= limits.value(IP_ACCOUNTS)
        requeue = min(limits.value(REQUEUE), window)
        if crossed and limits.first(f"{prefix}:reported", requeue):
            return Tally(failures, accounts)
    return None


def unreport(ip: str) -> None:
    """Let the next failure report ``ip`` again (its report could not be queued)."""
    limits.forget(f"{_prefix(ip)}:reported")


def forget(ip: str) -> None:
    """Start counting ``ip`` afresh (its block was lifted by an admin)."""
    address = networks.address(ip)
    if address is None:
        return
    prefix = _prefix(str(address))
    limits.forget(f"{prefix}:failures", f"{prefix}:accounts", f"{prefix}:reported")
