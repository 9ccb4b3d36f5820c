"""Client authentication for our own machine endpoints (introspection, decisions), and the
limits on failed client authentication at the token endpoint.

The token endpoint authenticates through oauthlib and the validator; endpoints outside oauthlib
use this, with the same cached client rows and keyed secret hash.

Failed client authentication at the token endpoint is limited per claimed client_id and per IP
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

import base64
import binascii
import json
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse

from abuse import guard as abuse
from audit.models import AuditEvent
from audit.services import client_ip, record
from core import limits
from core.limits import Limit
from oauth import tokens
from oauth.hashers import verify_client_secret
from oauth.models import Client
from oauth.selectors import client_get

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


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(request: HttpRequest) -> Client | None:
    """The confidential client proven by HTTP Basic or ``client_secret_post``, else None."""
    credentials = basic_credentials(request)
    if credentials is None:
        client_id = request.POST.get("client_id")
        secret = request.POST.get("client_secret")
        if not client_id or not secret:
            return None
        credentials = (client_id, secret)
    elif "client_secret" in request.POST:
        return None  # one authentication method per request
    client_id, secret = credentials
    client = client_get(client_id)
    if (
        client is None
        or not client.is_active
        or client.client_type != Client.CLIENT_CONFIDENTIAL
        or not client.client_secret
        or not secret
    ):
        return None
    return client if verify_client_secret(secret, client.client_secret) else None


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
