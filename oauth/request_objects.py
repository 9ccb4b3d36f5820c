"""Signed request objects (JAR, RFC 9101): an authorization request sent as a JWT that the
client signed with one of its registered keys (``jwks`` or ``jwks_uri``, the keys of
``private_key_jwt``), at ``/o/par/`` or directly at ``/o/authorize/``.

When a request carries ``request``, only the parameters inside it count (RFC 9101 §6.3); the
outer ``client_id`` must be present and equal the object's. The object must be signed (never
``alg: none``) with RS256, PS256 or ES256, name the client as ``iss`` and this server as
``aud``, and carry ``exp`` no more than ``MAX_LIFETIME_SECONDS`` away (``nbf`` honoured), as
FAPI 2.0 Message Signing asks."""

from __future__ import annotations

import json

from django.conf import settings

from core import clock
from oauth.client_auth.private_key_jwt import Unverified, verified_claims
from oauth.models import Client

MAX_LIFETIME_SECONDS = 3600
# claims of the JWT itself, not authorization parameters
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})


class RequestObjectError(Exception):
    """The request object cannot be used (``invalid_request_object``)."""


def parameters(client: Client | None, request_object: str) -> list[tuple[str, str]]:
    """The authorization parameters inside ``request_object``, once its signature and claims
    are verified; strings as in a query (``resource`` lists repeat, ``claims`` is JSON)."""
    if client is None:
        raise RequestObjectError("Unknown client.")
    try:
        claims = verified_claims(
            client,
            request_object,
            audience=settings.ISSUER_URL,
            require=["exp", "iss", "aud"],
            issuer=client.client_id,
        )
    except Unverified as exc:
        raise RequestObjectError(f"The request object is not valid: {exc}") from None
    if claims["exp"] - clock.now() > MAX_LIFETIME_SECONDS:
        raise RequestObjectError("The request object lives too long.")
    if claims.get("client_id") != client.client_id:
        raise RequestObjectError("The request object's client_id is not the client's.")
    pairs: list[tuple[str, str]] = []
    for name, value in claims.items():
        if name in _JWT_CLAIMS or name in ("request", "request_uri"):
            continue
        values = value if name == "resource" and isinstance(value, list) else [value]
        for item in values:
            pairs.append((name, item if isinstance(item, str) else json.dumps(item)))
    return pairs


def expand(params: list[tuple[str, str]], client: Client | None) -> list[tuple[str, str]]:
    """``params`` of a request, with a ``request`` object replaced by what it carries; the
    outer ``client_id`` (required) and client authentication parameters are kept."""
    outer = dict(params)
    if "request" not in outer:
        return params
    if not outer.get("client_id"):
        raise RequestObjectError("A request object needs the client_id parameter beside it.")
    kept = [(k, v) for k, v in params if k in _OUTER]
    return kept + [(k, v) for k, v in parameters(client, outer["request"]) if k not in _OUTER]


# what stays outside the object: the client and how it authenticates (at /o/par/)
_OUTER = frozenset({"client_id", "client_secret", "client_assertion", "client_assertion_type"})
