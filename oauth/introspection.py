"""RFC 7662 token introspection, built for the request rate of resource servers.

A user's access token is ours iff the SHA-256 of it is a stored row (DOT stores only that
checksum), so its check is one indexed SQL read plus decoding the JWT payload we signed; no
signature check is needed when the row proves issuance. Revocation deletes the row, so it takes
effect on the very next call, in every process. A client's own (client-credentials) token has no
row: its signature proves it, and revocation is a ``jti`` list (``oauth.clienttokens``). Other
apps add members (roles, permissions) through ``enrichers``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connection
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from authserver.crypto import sha256_hex
from oauth import clienttokens, tokens
from oauth.models import Client


class ActiveToken(NamedTuple):
    claims: dict[str, Any]
    username: str | None  # None for a client's own (client-credentials) token


INACTIVE: dict[str, Any] = {"active": False}
MAX_TOKEN_LENGTH = 8192
# Callables (active token, caller client) -> extra members, registered by other apps' ready().
enrichers: list[Callable[[ActiveToken, Client], dict[str, Any]]] = []
# Introspection of other credentials, by prefix: (credential, caller client) -> response
# (API keys register "ask_").
introspectors: dict[str, Callable[[str, Client], dict[str, Any]]] = {}

_ACCESS_SQL: str | None = None


def _access_sql() -> str:
    global _ACCESS_SQL
    if _ACCESS_SQL is None:
        from django.contrib.auth import get_user_model

        tokens_table = get_access_token_model()._meta.db_table
        clients_table = Client._meta.db_table
        users_table = get_user_model()._meta.db_table
        # Only table names from model metadata are interpolated; the token is a parameter.
        _ACCESS_SQL = (
            f"SELECT t.expires, u.is_active, u.username, c.is_active "  # noqa: S608  # nosec B608
            f"FROM {tokens_table} t LEFT JOIN {clients_table} c ON c.id = t.application_id "
            f"LEFT JOIN {users_table} u ON u.id = t.user_id WHERE t.token_checksum = %s"
        )
    return _ACCESS_SQL


def active_access_token(token: str) -> ActiveToken | None:
    """The claims of an access token we issued that is active now, else None.

    The same checks as introspection (stored row, expiry, active client and user), for other
    endpoints that accept access tokens (AuthZEN subjects and callers, the gateway).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    claims = tokens.unverified_claims(token)
    return None if claims is None else _check_access_token(token, claims)


def _check_access_token(token: str, claims: dict[str, Any]) -> ActiveToken | None:
    if clienttokens.is_client_token(claims):
        verified = clienttokens.active_claims(token)
        return None if verified is None else ActiveToken(verified, None)
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(), [sha256_hex(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    _expires, user_active, username, client_active = row
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= time.time() or client_active is False:
        return None
    if client_active is None and not user_active:
        return None  # only a user's API-key token has no client; its user vouches for it
    if user_active is False or (
        user_active is None and claims.get("sub") != claims.get("client_id")
    ):
        return None
    return ActiveToken(claims, username)


def introspect(token: str, *, caller: Client) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return INACTIVE
    for prefix, inspect in introspectors.items():
        if token.startswith(prefix):
            return inspect(token, caller)
    claims = tokens.unverified_claims(token)
    if claims is None:
        return _introspect_refresh_token(token, caller)
    active = _check_access_token(token, claims)
    if active is None:
        return INACTIVE
    claims = active.claims
    response: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": claims.get("scope", ""),
        "client_id": claims.get("client_id"),
        "sub": claims.get("sub"),
        "aud": claims.get("aud"),
        "iss": claims.get("iss"),
        "exp": claims["exp"],
        "iat": claims.get("iat"),
        "jti": claims.get("jti"),
    }
    if active.username:
        response["username"] = active.username
    for name in ("auth_time", "amr", "acr"):
        if name in claims:
            response[name] = claims[name]
    for enrich in enrichers:
        response.update(enrich(active, caller))
    return response


def _introspect_refresh_token(token: str, caller: Client) -> dict[str, Any]:
    """Refresh tokens are introspectable by the client they were issued to, and only by it."""
    refresh = (
        get_refresh_token_model()
        .objects.filter(token_checksum=sha256_hex(token), revoked__isnull=True)
        .select_related("user", "access_token", "application")
        .first()
    )
    if refresh is None or refresh.application_id != caller.pk or refresh.access_token is None:
        return INACTIVE
    if refresh.user is None or not refresh.user.is_active:
        return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": refresh.access_token.scope,
        "client_id": caller.client_id,
        "sub": str(refresh.user_id),
        "username": refresh.user.get_username(),
    }
