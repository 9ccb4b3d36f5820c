"""Failed client authentication at the token endpoint: per client_id and per IP, 429 with
``Retry-After`` once a limit is reached (``core.throttle``).

Only failures are throttled: a request that authenticates is never delayed. Client secrets are
256-bit random values and assertions are signatures, so a correct one cannot be the product of
guessing, and refusing it would let anyone who knows a client_id (it is public) lock that client
out by sending wrong secrets. So the success path costs no cache round trip; a failure is
counted, and while the client or IP is blocked every failure is answered 429 (and doubles the
block, see ``core.throttle.Limit``). The failures also feed the abuse response
(``abuse.guard``), whose IP blocks refuse every request (a cached check, no round trip).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from abuse import guard as abuse
from audit.models import AuditEvent
from audit.services import client_ip, record
from core.throttle import Limit, record_failure, retry_after
from oauth import tokens
from oauth.clientauth import basic_credentials


def _client() -> Limit:
    return Limit(
        "token-client",
        settings.TOKEN_AUTH_FAILURES_PER_CLIENT,
        settings.TOKEN_AUTH_THROTTLE_WINDOW,
        settings.TOKEN_AUTH_BACKOFF_SECONDS,
    )


def _ip() -> Limit:
    return Limit(
        "token-ip",
        settings.TOKEN_AUTH_FAILURES_PER_IP,
        settings.TOKEN_AUTH_THROTTLE_WINDOW,
        settings.TOKEN_AUTH_BACKOFF_SECONDS,
    )


def claimed_client_id(request: HttpRequest) -> str:
    """The client the request says it is (not yet proven): Basic, body, or assertion ``sub``."""
    credentials = basic_credentials(request)
    if credentials is not None:
        return credentials[0][:255]
    if request.POST.get("client_id"):
        return request.POST["client_id"][:255]
    claims = tokens.unverified_claims(request.POST.get("client_assertion", "")) or {}
    sub = claims.get("sub")
    return sub[:255] if isinstance(sub, str) else ""


def ip_blocked(request: HttpRequest) -> int:
    """Seconds left of an abuse-response block of the caller's IP (0: none)."""
    return abuse.refusal(request, where="token")


def token_retry_after(request: HttpRequest) -> int:
    """Seconds the claimed client or the IP must wait after too many failures (0: none)."""
    return retry_after((_client(), claimed_client_id(request)), (_ip(), client_ip(request) or ""))


def is_client_auth_failure(response: HttpResponse) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 400:
        return False
    try:
        return json.loads(response.content).get("error") == "invalid_client"
    except (ValueError, AttributeError):
        return False


def token_auth_failed(request: HttpRequest) -> int:
    """Count a failed client authentication; the seconds the caller must wait (0: none)."""
    waiting = token_retry_after(request)
    client_id = claimed_client_id(request)
    record(
        "token.client_auth",
        client_id=client_id,
        outcome=AuditEvent.Outcome.FAILURE,
        request=request,
    )
    blocked = max(
        record_failure(_client(), client_id), record_failure(_ip(), client_ip(request) or "")
    )
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
