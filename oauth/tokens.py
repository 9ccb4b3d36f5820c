"""JWT access tokens (RFC 9068) and ID-token signing.

``generate_access_token`` is DOT's ``ACCESS_TOKEN_GENERATOR``: oauthlib calls it with the
validated request, after client authentication and scope checks. Claim contributions from other
apps (roles, MFA context) come through ``token_claims`` on the request's auth context and the
``claim_providers`` registry, so this module stays free of RBAC and MFA logic.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
from collections.abc import Callable
from typing import Any

import jwt
from django.conf import settings
from jwt.algorithms import get_default_algorithms

from core import clock
from oauth import apis, keys
from oauth.models import GRANT_CLIENT_CREDENTIALS

# The oauthlib request header carrying a verified DPoP key thumbprint (``oauth.dpop``, set by
# ``oauth.server.OAuthLibCore``); no HTTP header can have this name (it has a space), so a
# client cannot send it.
DPOP_JKT = "Authserver DPoP-jkt"
# ... and the thumbprint of the token request's TLS client certificate (RFC 8705 §3.1)
TLS_X5T = "Authserver x5t-S256"

# Callables (request) -> dict of extra access-token claims, registered by other apps' ready().
claim_providers: list[Callable[[Any], dict[str, Any]]] = []


def confirmation(request: Any) -> dict[str, str]:
    """The ``cnf`` (RFC 7800) of what this token request proved: the DPoP key (RFC 9449 §6.1)
    and the TLS client certificate of a client whose tokens are bound to it (RFC 8705 §3.1)."""
    cnf = {"jkt": request.headers.get(DPOP_JKT), "x5t#S256": request.headers.get(TLS_X5T)}
    return {name: value for name, value in cnf.items() if value}


def access_token_lifetime(request: Any) -> int:
    """Seconds an access token lives: the client's override, else ``ACCESS_TOKEN_LIFETIME``,
    capped by the ``access_token_lifetime`` of each registered API it is issued for (its RFC
    8707 resources, settled before the token is built: ``oauth.server``)."""
    client = getattr(request, "client", None)
    lifetime = int(getattr(client, "access_token_lifetime", None) or settings.ACCESS_TOKEN_LIFETIME)
    resources = getattr(request, "resource", None)
    cap = apis.lifetime_cap(resources) if isinstance(resources, list) else None
    return min(lifetime, cap) if cap is not None else lifetime


_ALGORITHMS = get_default_algorithms()  # PyJWT's signers, by JWS "alg"


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=64)
def _header_segment(algorithm: str, kid: str, typ: str) -> bytes:
    return _b64(
        json.dumps({"alg": algorithm, "kid": kid, "typ": typ}, separators=(",", ":")).encode()
    )


def sign(claims: dict[str, Any], *, algorithm: str, typ: str) -> str:
    """The compact JWS (RFC 7515 §7.1) of ``claims``, signed by PyJWT's ``algorithm`` with the
    current key. Serialised here rather than by ``jwt.encode``, which builds and encodes the
    same header again for every token and checks claims we set ourselves (a third of its cost)."""
    key = keys.signing_key(algorithm)
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _header_segment(algorithm, key.kid, typ) + b"." + payload
    signature = _ALGORITHMS[algorithm].sign(signing_input, key.private_key)
    return (signing_input + b"." + _b64(signature)).decode()


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS without checking it; None when it is not one.

    Only for tokens already proven ours some other way (their hash is a stored row).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def verify(token: str, *, typ: str | None = None, audience: str | None = None) -> dict[str, Any]:
    """Verify signature, ``exp``/``iat`` and issuer; raise ``jwt.InvalidTokenError`` if bad."""
    header = jwt.get_unverified_header(token)
    if typ is not None and header.get("typ") != typ:
        raise jwt.InvalidTokenError("unexpected typ")
    key = keys.verification_key(str(header.get("kid", "")))
    if key is None:
        raise jwt.InvalidTokenError("unknown kid")
    return jwt.decode(
        token,
        key.private_key.public_key(),
        algorithms=[key.algorithm],
        issuer=settings.ISSUER_URL,
        audience=audience,
        options={"verify_aud": audience is not None, "require": ["exp", "iat", "iss"]},
    )


def generate_refresh_token(request: Any, refresh_token: bool = False) -> str:
    """An opaque 256-bit refresh token (only its SHA-256 is stored)."""
    return secrets.token_urlsafe(32)


def generate_access_token(request: Any, refresh_token: bool = False) -> str:
    """RFC 9068 access token for the request oauthlib is answering."""
    now = int(clock.now())
    client = request.client
    user = getattr(request, "user", None)
    issuer = settings.ISSUER_URL
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": str(user.pk) if user is not None else client.client_id,
        # RFC 8707 resources, settled by DOT's check before the token is built (oauth.server)
        "aud": list(request.resource or []) or issuer,
        "exp": now + access_token_lifetime(request),
        "iat": now,
        "jti": secrets.token_urlsafe(16),
        "client_id": client.client_id,
        "scope": " ".join(request.scopes or []),
    }
    if user is None and request.grant_type == GRANT_CLIENT_CREDENTIALS:
        claims["gty"] = GRANT_CLIENT_CREDENTIALS  # not stored: see oauth.clienttokens
    context = getattr(request, "auth_context", None)
    if user is not None and context is not None:
        claims["auth_time"] = int(context.auth_time.timestamp())
        claims["amr"] = list(context.amr)
        claims["acr"] = context.acr
        if context.sid:
            claims["sid"] = context.sid
    cnf = confirmation(request)
    if cnf:
        claims["cnf"] = cnf
    for provider in claim_providers:
        claims.update(provider(request))
    request.access_token_claims = claims  # for the audit event (oauth.events)
    return sign(claims, algorithm=settings.ACCESS_TOKEN_ALGORITHM, typ="at+jwt")
