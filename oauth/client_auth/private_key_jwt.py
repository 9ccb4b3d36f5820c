"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, OIDC Core §9).

A client proves itself with a JWT it signed: ``iss`` = ``sub`` = its ``client_id``, ``aud`` our
token endpoint (or the issuer), a ``jti`` and an ``exp`` at most ``MAX_LIFETIME_SECONDS`` ahead.
- The key comes from the client's inline ``jwks`` or from its ``jwks_uri`` through the guarded
  fetcher (``core.fetch``: public https hosts only, a deadline, a byte cap, a per-URL cache). An
  unknown ``kid`` refetches the set at most once per ``core.fetch.REFETCH_SECONDS``. Any failure
  to get a key is a failed authentication (``invalid_client``), never an error page.
- A ``jti`` is accepted once: each verified assertion's ``jti`` is stored (``AssertionJti``,
  unique per client) until the assertion expires, so a replay fails in every worker process;
  ``oauth.maintenance.expired_clear`` purges the rows past their ``exp``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction

from core import fetch
from oauth import profiles, tokens
from oauth.models import AssertionJti, Client
from oauth.selectors import client_get

log = logging.getLogger(__name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 30
JWKS_MAX_BYTES = 64 * 1024
MAX_JTI_LENGTH = AssertionJti._meta.get_field("jti").max_length


def token_endpoint_url() -> str:
    return f"{settings.ISSUER_URL}/o/token/"


def claimed_client_id(params: dict[str, str]) -> str | None:
    """The client an assertion claims to come from (unverified), if the request is well formed."""
    assertion = params.get("client_assertion", "")
    if params.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or not assertion:
        return None
    unverified = tokens.unverified_claims(assertion) or {}
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or unverified.get("iss") != client_id:
        return None
    if params.get("client_id") not in (None, client_id):
        return None
    return client_id


class Unverified(Exception):
    """A JWT the client should have signed does not verify (the message says why)."""


def verified_claims(
    client: Client, token: str, *, audience: str | list[str], require: list[str], **checks: Any
) -> dict[str, Any]:
    """The claims of ``token``, a JWT signed by one of ``client``'s registered keys with an
    algorithm its profile allows, for ``audience`` (client assertions, request objects)."""
    try:
        header = jwt.get_unverified_header(token)
        return jwt.decode(
            token,
            client_key(client, header.get("kid")),
            algorithms=profiles.signing_algorithms(client, ASSERTION_ALGORITHMS),
            audience=audience,
            options={"require": require},
            leeway=LEEWAY_SECONDS,
            **checks,
        )
    except (jwt.PyJWTError, LookupError, ValueError, fetch.FetchError) as exc:
        raise Unverified(str(exc)) from None


def authenticate(client: Client, assertion: str) -> bool:
    """Whether ``assertion`` is a fresh, first-used proof signed by ``client``'s key."""
    try:
        claims = verified_claims(
            client,
            assertion,
            audience=[token_endpoint_url(), settings.ISSUER_URL],
            require=["exp", "iss", "sub", "aud", "jti"],
        )
    except Unverified as exc:
        log.info("private_key_jwt rejected for client %s: %s", client.client_id, exc)
        return False
    exp, jti = claims["exp"], claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        return False
    if int(exp) - time.time() > MAX_LIFETIME_SECONDS:
        return False  # an assertion must be short-lived: its jti is kept that long
    return _first_use(client.client_id, jti, int(exp) + LEEWAY_SECONDS)


def authenticate_request(
    request: Any, params: dict[str, str], load: Callable[[str, Any], Client | None]
) -> bool:
    """RFC 7523 §2.2 client authentication of an oauthlib ``request`` whose body (``params``)
    carries a JWT signed by the client's key; ``load`` is the validator's client loader (the
    usable client, set on the request)."""
    client_id = claimed_client_id(params)
    if client_id is None:
        return False
    client = load(client_id, request)
    if client is None or client.token_endpoint_auth_method != "private_key_jwt":
        return False
    if not authenticate(client, params["client_assertion"]):
        return False
    request.client_id = client_id
    return True


def prefetch_key(params: dict[str, str]) -> None:
    """Fetch the key set of the client an assertion claims to come from, if it has a
    ``jwks_uri``, before the token view authenticates the client (inside a transaction for the
    device and extension grants): the fetch may take up to its deadline, and in the embedded
    mode a transaction holds the database's writer lock. The authentication then finds the key
    set cached; failures are left to it."""
    client_id = claimed_client_id(params)
    client = client_get(client_id) if client_id else None
    if client is None or client.jwks or not client.jwks_uri:
        return
    try:
        client_key(client, jwt.get_unverified_header(params["client_assertion"]).get("kid"))
    except (jwt.PyJWTError, LookupError, fetch.FetchError):
        return


def _first_use(client_id: str, jti: str, expires: int) -> bool:
    """Record ``jti``; False if it was recorded before (RFC 7523 §3: a jti is used once)."""
    try:
        with transaction.atomic():  # a savepoint when the grant runs in a transaction
            AssertionJti.objects.create(
                client_id=client_id, jti=jti, expires=datetime.fromtimestamp(expires, tz=UTC)
            )
    except IntegrityError:
        log.warning("client assertion replayed (client %s)", client_id)
        return False
    return True


def client_key(client: Client, kid: str | None) -> jwt.PyJWK:
    """The client's public key for ``kid``; an unknown ``kid`` refetches its ``jwks_uri``."""
    if client.jwks or not client.jwks_uri:
        key = _find(client.jwks, kid)
    else:
        key = _find(fetch.fetch_json(client.jwks_uri, max_bytes=JWKS_MAX_BYTES), kid)
        if key is None:
            refetched = fetch.fetch_json(client.jwks_uri, max_bytes=JWKS_MAX_BYTES, refresh=True)
            key = _find(refetched, kid)
    if key is None:
        raise LookupError(f"no key {kid!r} in the client's key set")
    return key


def _find(jwks: Any, kid: str | None) -> jwt.PyJWK | None:
    if not isinstance(jwks, dict):
        return None
    try:
        key_set = jwt.PyJWKSet.from_dict(jwks)
    except (jwt.PyJWTError, AttributeError, TypeError):  # not a key set at all
        return None
    return next((k for k in key_set.keys if kid is None or k.key_id == kid), None)


def purge_expired(now: datetime) -> int:
    """Forget the ``jti``s of assertions that have expired anyway (run by ``expired_clear``)."""
    deleted, _ = AssertionJti.objects.filter(expires__lte=now).delete()
    return deleted
