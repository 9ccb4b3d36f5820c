"""RFC 7662 token introspection, built for the request rate of resource servers.

A user's access token is ours iff the SHA-256 of it is a stored row (DOT stores only that
checksum), so its check is one indexed read (cached per process until a token row is deleted)
plus decoding the JWT payload we signed; no signature check is needed when the row proves
issuance. Revocation deletes the row, so it takes effect on the very next call, in every
process. A client's own (client-credentials) token has no
row: its signature proves it, and revocation is a ``jti`` list (``oauth.clienttokens``). Other
apps add members (roles, permissions) through ``enrichers``.

A caller learns only about tokens meant for it (``oauth.apis.may_learn``: the client of an API
in the token's ``aud``, of any registered API for an audience-less token, or the token's own
client); anyone else gets exactly ``{"active": false}``. Audience-less answers carry no ``aud``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, TypeVar

from django.db import connection
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from accounts import selectors as account_selectors
from core import clock
from core.crypto import sha256_hex
from core.generations import ANY, ProcessCache
from oauth import apis, clienttokens, keys, tokens
from oauth.models import Client
from oauth.selectors import client_get


class ActiveToken(NamedTuple):
    claims: dict[str, Any]
    username: str | None  # None for a client's own (client-credentials) token


INACTIVE: dict[str, Any] = {"active": False}
MAX_TOKEN_LENGTH = 8192
# Callables (active token, caller client) -> extra members, registered by other apps' ready().
enrichers: list[Callable[[ActiveToken, Client], dict[str, Any]]] = []
# Introspection of other credentials, by prefix: (credential, caller client, the holder's address
# as the caller states it or None) -> response (API keys register "ask_").
introspectors: dict[str, Callable[[str, Client, str | None], dict[str, Any]]] = {}
# Callables (UNIX time an answer was computed) -> whether it may have changed since for a reason
# no generation counter marks, registered by other apps' ready() (roles: an assignment expired).
staleness_checks: list[Callable[[float], bool]] = []


def is_stale(computed_at: float) -> bool:
    """Whether an answer computed at ``computed_at`` must be computed again."""
    for check in staleness_checks:  # a loop: no generator on every introspection
        if check(computed_at):
            return True
    return False


# A user's access-token row, by checksum: (user id, client row id), or None. Rows never change
# but are deleted (revocation, rotation, a revoked family or API key), and every delete bumps
# "access-tokens" (``OauthConfig.ready``); the user and the client are checked per call from
# their own caches. So a warm introspection makes no query, and revocation stays immediate.
_rows = ProcessCache("access-tokens", max_age=60)  # rows deleted behind the ORM: a minute


_ROW_SQL: str | None = None


def _row_sql() -> str:
    """One indexed read by checksum, as raw SQL (the ORM's query building costs ten times the
    query itself, and a token's first introspection pays it)."""
    global _ROW_SQL
    if _ROW_SQL is None:
        table = get_access_token_model()._meta.db_table
        # Only the table name from model metadata is interpolated; the checksum is a parameter.
        _ROW_SQL = f"SELECT user_id, application_id FROM {table} WHERE token_checksum = %s"  # noqa: S608  # nosec B608
    return _ROW_SQL


def _row(checksum: str) -> tuple[int | None, int | None] | None:
    def load() -> tuple[int | None, int | None] | None:
        with connection.cursor() as cursor:
            cursor.execute(_row_sql(), [checksum])
            row = cursor.fetchone()
        return None if row is None else (row[0], row[1])

    return _rows.get(checksum, load)


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
    row = _row(sha256_hex(token))
    if row is None:
        return None
    user_id, application_id = row
    client_active = None
    if application_id is not None:
        client = client_get(claims.get("client_id", ""))
        client_active = client is not None and client.pk == application_id and client.is_active
    state = None if user_id is None else account_selectors.user_state(user_id)
    user_active = None if user_id is None else state is not None and state[1]
    username = state[0] if state is not None else None
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= clock.now() or client_active is False:
        return None
    if client_active is None and not user_active:
        return None  # only a user's API-key token has no client; its user vouches for it
    if user_active is False or (
        user_active is None and claims.get("sub") != claims.get("client_id")
    ):
        return None
    return ActiveToken(claims, username)


# Whole answers for JWT access tokens, per (token, caller). Every input is either immutable (the
# claims we signed) or behind a generation counter (token rows, revoked client tokens, clients,
# users, roles, API keys), so the cache empties whenever any counter moves, and at least every
# minute (user rows changed behind the ORM); expiry, ``staleness_checks`` and, for a client's
# token, its signing key still being published are checked on every hit. Refresh tokens are not
# cached; API keys use the same cache (``cached_answer``).
_answers = ProcessCache(ANY, max_entries=20_000, max_age=60)
T = TypeVar("T")


def cached_answer(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, cached for ``key`` with the time it started, and computed again when a
    staleness check says so; for other apps' introspectors too."""

    def timed() -> tuple[float, T]:
        started = clock.now()
        return started, compute()

    computed_at, value = _answers.get(key, timed)
    if is_stale(computed_at):
        _answers.discard(key)
        computed_at, value = _answers.get(key, timed)
    return value


def introspect(token: str, *, caller: Client, holder_ip: str | None = None) -> dict[str, Any]:
    """RFC 7662 for ``caller``; ``holder_ip``: where the token's holder is, as the caller states
    it (the ``ip_address`` parameter), for credentials bound to source addresses (API keys)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return INACTIVE
    for prefix, inspect in introspectors.items():
        if token.startswith(prefix):
            return inspect(token, caller, holder_ip)
    answer, kid = cached_answer((token, caller.pk), lambda: _answer(token, caller))
    if answer is None:
        return _introspect_refresh_token(token, caller)
    if answer is INACTIVE or answer["exp"] <= clock.now():
        return INACTIVE
    if kid is not None and not keys.is_published(kid):
        return INACTIVE
    return answer


def _answer(token: str, caller: Client) -> tuple[dict[str, Any] | None, str | None]:
    """(RFC 7662 answer, signing key id of a client's token); (None, None) if not a JWT."""
    claims = tokens.unverified_claims(token)
    if claims is None:
        return None, None
    active = _check_access_token(token, claims)
    # RFC 7662 §4, RFC 9700 §2.3: only the token's audience (or its own client) learns of it
    if active is None or not apis.may_learn(caller.client_id, active.claims):
        return INACTIVE, None
    claims = active.claims
    response: dict[str, Any] = {
        "active": True,
        # RFC 9449 §6.2: a DPoP-bound token says so, and its ``cnf`` names the key (or, RFC
        # 8705 §3.2, the client certificate: ``x5t#S256``; such a token stays Bearer)
        "token_type": "DPoP" if "jkt" in claims.get("cnf", {}) else "Bearer",
        "scope": claims.get("scope", ""),
        "client_id": claims.get("client_id"),
        "sub": claims.get("sub"),
        "iss": claims.get("iss"),
        "exp": claims["exp"],
        "iat": claims.get("iat"),
        "jti": claims.get("jti"),
    }
    if not apis.is_audience_less(claims):  # DOT's resource servers prefix-match ``aud`` with
        response["aud"] = claims["aud"]  # their own URL: the issuer alone would fail there
    if active.username:
        response["username"] = active.username
    for name in ("auth_time", "amr", "acr", "cnf"):
        if name in claims:
            response[name] = claims[name]
    for enrich in enrichers:
        response.update(enrich(active, caller))
    # a client's token was just verified (``_check_access_token``): its key id is known
    kid = clienttokens.signing_kid(token) if clienttokens.is_client_token(claims) else None
    return response, kid


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
