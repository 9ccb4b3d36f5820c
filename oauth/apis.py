"""Registered APIs (resource servers) as token audiences: who may obtain a token for what, and
who may learn about a token.

An API's ``identifier`` is the RFC 8707 ``resource`` a client asks for and the ``aud`` of the
tokens issued for it; the built-in management API is spelled ``management`` and its audience is
``<ISSUER_URL>/api/v1/``. A client may obtain tokens only for the APIs in its ``resources``. A
token requested without ``resource`` has ``aud`` = the issuer ("audience-less").

Reads are served from a per-process copy of every API row (generation ``apis``, bumped on
every save and delete of an ``Api``: ``OauthConfig.ready``), so the hot paths make no query.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.conf import settings

from core.generations import ProcessCache

MANAGEMENT = "management"
MANAGEMENT_SCOPE = "management"
GENERATION = "apis"


class ApiInfo(NamedTuple):
    identifier: str  # as registered ("management" for the built-in)
    audience: str  # the absolute URI tokens carry as ``aud``
    name: str
    client_id: str | None  # the client whose credentials the API presents, if any
    scopes: tuple[str, ...]
    access_token_lifetime: int | None
    builtin: bool


# What RFC 3986 allows in a URI (unreserved, reserved and "%"): an identifier is compared and
# searched for exactly as a token's ``resource`` stores it.
URI_CHARACTERS = frozenset(
    string.ascii_letters + string.digits + "-._~" + ":/?#[]@" + "!$&'()*+,;=" + "%"
)


def management_audience() -> str:
    return f"{settings.ISSUER_URL.rstrip('/')}/api/v1/"


def audience_of(identifier: str) -> str:
    """The absolute URI an API identifier stands for (``management`` is the built-in)."""
    return management_audience() if identifier == MANAGEMENT else identifier


def identifier_error(identifier: Any) -> str | None:
    """Why ``identifier`` cannot name a new API (an absolute URI with a scheme and a host, no
    fragment or user info, as DOT checks a resource indicator), or None."""
    if not isinstance(identifier, str) or not identifier or len(identifier) > 255:
        return "must be an absolute URI of at most 255 characters"
    if identifier in (MANAGEMENT, management_audience()):
        return "names the built-in management API ('management')"
    if any(c not in URI_CHARACTERS for c in identifier):
        return "must be an absolute URI: RFC 3986 characters only (no spaces, quotes or non-ASCII)"
    try:
        parts = urlsplit(identifier)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 literal
        parts = urlsplit("")
    if not parts.scheme or not parts.hostname or parts.fragment or "#" in identifier:
        return "must be an absolute URI with a scheme and a host, without a fragment"
    if parts.username is not None or parts.password is not None:
        return "must not contain user information"
    return None


_cache = ProcessCache(GENERATION, max_entries=1)


def _load() -> dict[str, ApiInfo]:
    from oauth.models import Api

    rows = Api.objects.select_related("client").order_by("identifier")
    apis = (
        ApiInfo(
            identifier=row.identifier,
            audience=audience_of(row.identifier),
            name=row.name,
            client_id=row.client.client_id if row.client is not None else None,
            scopes=tuple(row.scopes or ()),
            access_token_lifetime=row.access_token_lifetime,
            builtin=row.builtin,
        )
        for row in rows
    )
    return {api.audience: api for api in apis}


def registered() -> dict[str, ApiInfo]:
    """Every registered API by audience (one dict lookup per call when warm)."""
    return _cache.get(None, _load)


def api_for_audience(audience: str) -> ApiInfo | None:
    return registered().get(audience) if isinstance(audience, str) else None


def client_audiences(resources: Iterable[str]) -> frozenset[str]:
    """The audiences a client whose ``resources`` are these may obtain tokens for (only
    registered APIs count: an identifier whose API was deleted grants nothing)."""
    known = registered()
    return frozenset(a for a in map(audience_of, resources or ()) if a in known)


def lifetime_cap(audiences: Iterable[str]) -> int | None:
    """The shortest ``access_token_lifetime`` among the registered APIs of ``audiences`` (None:
    none of them caps it)."""
    known = registered()
    caps = [
        api.access_token_lifetime
        for api in (known.get(a) for a in audiences)
        if api is not None and api.access_token_lifetime
    ]
    return min(caps) if caps else None


def _aud(claims: dict[str, Any]) -> list[Any]:
    """A token's ``aud`` as a list (RFC 7519 §4.1.3: a string or an array)."""
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else list(aud or ())


def token_audiences(claims: dict[str, Any]) -> tuple[str, ...]:
    """The registered APIs' audiences among a token's ``aud`` (empty: audience-less)."""
    known = registered()
    return tuple(a for a in _aud(claims) if isinstance(a, str) and a in known)


def is_audience_less(claims: dict[str, Any]) -> bool:
    """A token requested without ``resource``: its ``aud`` is the issuer alone."""
    return all(a == settings.ISSUER_URL for a in _aud(claims))


def may_learn(caller_client_id: str | None, claims: dict[str, Any]) -> bool:
    """Whether the client ``caller_client_id`` may learn that the token with ``claims`` is
    active (RFC 7662 §4, RFC 9700 §2.3): it is the client of an API in the token's ``aud``;
    or, for an audience-less token, the client of any registered API; or the token's own
    client."""
    if not caller_client_id:
        return False
    if claims.get("client_id") == caller_client_id:
        return True
    known = registered()
    if is_audience_less(claims):
        return any(api.client_id == caller_client_id for api in known.values())
    return any(known[a].client_id == caller_client_id for a in token_audiences(claims))


def meant_for(audience: str, claims: dict[str, Any]) -> bool:
    """Whether a token with ``claims`` may be used at the registered API whose audience is
    ``audience`` (a gateway fronting it, RFC 9068 §4): its ``aud`` names that API, or it is
    audience-less (good at every registered API, as introspection answers any API's client)."""
    if audience not in registered():
        return False
    return is_audience_less(claims) or audience in token_audiences(claims)


def target_error(requested: Iterable[str], resources: Iterable[str]) -> str | None:
    """Why a client whose ``resources`` are these may not obtain a token for the ``requested``
    API identifiers or audiences (RFC 8707 §2 ``invalid_target``), or None: each must be a
    registered API's, compared exactly, that the client lists."""
    allowed = client_audiences(resources)
    for value in requested:
        audience = audience_of(value)
        if api_for_audience(audience) is None:
            return f"The resource '{value}' is not a registered API."
        if audience not in allowed:
            return f"This client may not obtain tokens for the resource '{value}'."
    return None
