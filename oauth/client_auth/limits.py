"""Failed client authentication at the token endpoint is limited per claimed client_id and per IP
(``core.limits``): 429 with ``Retry-After`` once a limit is reached. Only failures are limited:
a request that authenticates is never delayed. Client secrets are 256-bit random values and
assertions are signatures, so a correct one cannot be the product of guessing, and refusing it
would let anyone who knows a client_id (it is public) lock that client out by sending wrong
secrets. So the success path costs no cache round trip; a failure is counted, and while the
client or IP is blocked every failure is answered 429 (and doubles the block). The failures
also feed the abuse response (``abuse.guard``), whose IP blocks refuse every request (a cached
check, no round trip).
"""

from __future__ import annotations

from django.http import HttpRequest

from abuse import guard as abuse
from audit.models import AuditEvent
from audit.services import client_ip, record
from core import limits
from core.limits import Limit
from oauth.client_auth.secret import claimed_client_id

TOKEN_AUTH_PER_CLIENT = Limit(
    "token-client",
    failures="TOKEN_AUTH_FAILURES_PER_CLIENT",
    window="TOKEN_AUTH_THROTTLE_WINDOW",
    backoff="TOKEN_AUTH_BACKOFF_SECONDS",
)
TOKEN_AUTH_PER_IP = Limit(
    "token-ip",
    failures="TOKEN_AUTH_FAILURES_PER_IP",
    window="TOKEN_AUTH_THROTTLE_WINDOW",
    backoff="TOKEN_AUTH_BACKOFF_SECONDS",
)


def ip_blocked(request: HttpRequest) -> int:
    """Seconds left of an abuse-response block of the caller's IP (0: none)."""
    return abuse.refusal(request, where="token")


def token_auth_failed(request: HttpRequest) -> int:
    """Count a failed client authentication; the seconds the caller must wait (0: none)."""
    client_id, ip = claimed_client_id(request), client_ip(request)
    checks = ((TOKEN_AUTH_PER_CLIENT, client_id), (TOKEN_AUTH_PER_IP, ip))
    waiting = limits.retry_after(*checks)
    record(
        "token.client_auth",
        client_id=client_id,
        outcome=AuditEvent.Outcome.FAILURE,
        request=request,
    )
    blocked = limits.record_failure(*checks)
    abuse.failed(request, account=f"client:{client_id}")
    if blocked:
        record(
            "token.throttled",
            client_id=client_id,
            outcome=AuditEvent.Outcome.DENIED,
            request=request,
            seconds=blocked,
        )
    return max(waiting, blocked)
