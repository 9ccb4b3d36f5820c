"""What the guarded views call: ``refusal`` before doing any work, ``failed`` after a failure.

The client address is ``REMOTE_ADDR`` as ``core.proxy.TrustedProxies`` left it (the
``X-Forwarded-For`` of a trusted proxy, never one sent by anybody else).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.utils.translation import ngettext

from abuse import detection, selectors
from audit.models import AuditEvent
from audit.services import client_ip, record
from core import limits
from core.crypto import sha256_hex

log = logging.getLogger(__name__)

DENIAL_AUDIT_SECONDS = 60  # at most one ``ip.denied`` event per IP and endpoint this often


def refusal(request: HttpRequest, *, where: str) -> int:
    """Seconds the request's IP is still blocked for (0: go on). Refusals are audited as
    ``ip.denied``, once a minute per IP and endpoint (a blocked script cannot flood the log)."""
    ip = client_ip(request)
    seconds = selectors.blocked_seconds(ip)
    if seconds and _first_denial(ip or "", where):
        record(
            "ip.denied",
            target=ip or "",
            outcome=AuditEvent.Outcome.DENIED,
            request=request,
            where=where,
            seconds=seconds,
        )
    return seconds


def _first_denial(ip: str, where: str) -> bool:
    try:
        return limits.first(f"abuse:denied:{where}:{sha256_hex(ip)}", DENIAL_AUDIT_SECONDS)
    except Exception:
        return True


def failed(request: HttpRequest, *, account: str) -> None:
    """Count a failed sign-in or client authentication; queue a block when the IP crosses the
    thresholds. Raises ``core.limits.LimitUnavailable`` when the cache is down."""
    ip = client_ip(request)
    tally = detection.record_failure(ip, account)
    if tally is not None and ip:
        _queue_block(ip, tally)


def _queue_block(ip: str, tally: detection.Tally) -> None:
    """Queued at once, not on commit: the task needs nothing the caller's transaction writes
    (the failure's audit row is not a condition of the block)."""
    from abuse.tasks import block_ip_task

    try:
        block_ip_task.delay(ip, failures=tally.failures, accounts=tally.accounts)
    except Exception:
        # The broker is down (or, eagerly, the database): let the next failure try again.
        log.exception("could not queue the block of an abusive IP")
        try:
            detection.unreport(ip)
        except Exception:
            log.warning("could not clear the abuse report marker", exc_info=True)


def wait_text(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
