"""Client-credentials access tokens: issued without a database row, revoked by ``jti``.

A client's own token (RFC 6749 §4.4) names no user and has no refresh token, so nothing needs a
row for it: its signature proves we issued it, and issuing one writes nothing (the row was most
of a client-credentials grant's cost, and on SQLite every write takes the database lock). What
the row gave the other tokens is kept:
- immediate revocation: revoking one (RFC 7009) stores its ``jti`` until its ``exp`` and bumps
  the ``revoked-tokens`` generation, so every process refuses it on its next request;
- a deactivated or deleted client's tokens stop at once (the client is checked every time);
- nothing raw at rest (nothing at all).

These tokens carry ``gty: client_credentials`` (as Auth0's do), and only a token whose signature
verifies is believed to be one. Verifying costs a signature check, so verified claims are kept
per process (bounded); a hit still checks expiry, that the signing key is still published, the
client, and the revocation list.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from django.db import transaction

from core import generations
from oauth import keys, tokens
from oauth.models import GRANT_CLIENT_CREDENTIALS, Client, RevokedToken
from oauth.selectors import client_get

GRANT_CLAIM = "gty"
MAX_VERIFIED = 10_000  # ~2 KiB each (token and claims): ~20 MiB per process at most

_verified: dict[str, tuple[str, dict[str, Any]]] = {}  # token -> (kid, verified claims)
_lock = threading.Lock()
_revoked = generations.ProcessCache("revoked-tokens", max_entries=1)


def is_client_token(claims: dict[str, Any]) -> bool:
    """What the token says it is (unverified claims); ``verified_claims`` proves it."""
    return claims.get(GRANT_CLAIM) == GRANT_CLIENT_CREDENTIALS


def clear_cache() -> None:
    with _lock:
        _verified.clear()


def verified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a client-credentials token whose signature we checked, else None."""
    hit = _verified.get(token)
    if hit is not None:
        kid, claims = hit
        if keys.is_published(kid):
            return claims
    try:
        kid = str(jwt.get_unverified_header(token).get("kid", ""))
        claims = tokens.verify(token, typ="at+jwt")
    except jwt.InvalidTokenError:
        return None
    if not is_client_token(claims):
        return None
    with _lock:
        if len(_verified) >= MAX_VERIFIED:
            now = time.time()
            for stale in [t for t, (_k, c) in _verified.items() if c["exp"] <= now]:
                del _verified[stale]
            if len(_verified) >= MAX_VERIFIED:
                _verified.clear()
        _verified[token] = (kid, claims)
    return claims


def signing_kid(token: str) -> str | None:
    """The key id ``verified_claims`` found the token signed with (None if not verified)."""
    hit = _verified.get(token)
    return None if hit is None else hit[0]


def revoked_jtis() -> frozenset[str]:
    def load() -> frozenset[str]:
        live = RevokedToken.objects.filter(expires__gt=datetime.now(tz=UTC))
        return frozenset(live.values_list("jti", flat=True))

    return _revoked.get("jtis", load)


def active_claims(token: str) -> dict[str, Any] | None:
    """The verified claims of an active client-credentials token, else None."""
    claims = verified_claims(token)
    if claims is None:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= time.time():
        return None
    client = client_get(claims.get("client_id", ""))
    if client is None or not client.is_active:
        return None
    if claims.get("jti") in revoked_jtis():
        return None
    return claims


def revoke(token: str, client: Client | None) -> bool:
    """RFC 7009 for client-credentials tokens; True when ``token`` is one (handled here).

    A token not issued to the requesting client is left alone, and the endpoint answers 200
    either way (§2.2), as for any token it does not know.
    """
    unverified = tokens.unverified_claims(token)
    if unverified is None or not is_client_token(unverified):
        return False
    claims = verified_claims(token)
    if claims is None or client is None or claims.get("client_id") != client.client_id:
        return True
    revoke_jti(str(claims["jti"]), client.client_id, datetime.fromtimestamp(claims["exp"], tz=UTC))
    return True


def revoke_jti(jti: str, client_id: str, expires: datetime) -> bool:
    """Refuse the client token ``jti`` from the next request on; False if it already was."""
    with transaction.atomic():
        _row, created = RevokedToken.objects.get_or_create(
            jti=jti, defaults={"client_id": client_id, "expires": expires}
        )
        if created:
            generations.bump("revoked-tokens")
    return created


def purge_expired(now: datetime) -> int:
    """Forget revocations of tokens that have expired anyway (run by ``expired_clear``)."""
    deleted, _ = RevokedToken.objects.filter(expires__lte=now).delete()
    return deleted
