"""Pushed authorization requests (RFC 9126).

A client posts its authorization request to ``/o/par/`` (authenticated as at the token
endpoint); the request is validated there as the authorization endpoint would validate it, then
kept in the shared cache (every worker process sees it) for ``PAR_LIFETIME`` seconds under a
random ``request_uri``. The authorization endpoint takes ``client_id`` + ``request_uri`` in its
place: the pushed parameters are the request, whatever else the browser sends. A ``request_uri``
is consumed when the authorization answers (a code or a denial), so it works once; until then
it survives the sign-in and consent pages in between. Only a hash of the ``request_uri`` is a
cache key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core.cache import cache

from core import clock
from oauth import profiles
from oauth.models import Client

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"


@dataclass(frozen=True)
class Pushed:
    """A pushed request: its client, its parameters (pairs: ``resource`` may repeat) and, once
    the consent page has been shown, the approval form derived from them."""

    request_uri: str
    client_id: str
    params: list[tuple[str, str]]
    form: dict[str, Any] | None = None
    expires: float = 0.0


def _key(request_uri: str) -> str:
    return "oauth:par:" + hashlib.sha256(request_uri.encode()).hexdigest()


def required(client: Client | None) -> bool:
    """Whether the authorization endpoint accepts ``client``'s requests only when pushed."""
    return settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS or profiles.requires_pushed_requests(
        client
    )


# client authentication travels with the push, never into the authorization request
_NOT_PUSHED = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


def push(client: Client, params: list[tuple[str, str]]) -> Pushed:
    """Keep a validated request; its ``request_uri`` is 256 random bits."""
    pushed = Pushed(
        request_uri=URN_PREFIX + secrets.token_urlsafe(32),
        client_id=client.client_id,
        params=[(name, value) for name, value in params if name not in _NOT_PUSHED],
        expires=clock.now() + settings.PAR_LIFETIME,
    )
    _store(pushed)
    return pushed


def _store(pushed: Pushed) -> None:
    value = {
        "client_id": pushed.client_id,
        "params": pushed.params,
        "form": pushed.form,
        "expires": pushed.expires,
    }
    cache.set(_key(pushed.request_uri), value, timeout=max(1, int(pushed.expires - clock.now())))


def resolve(request_uri: str, client_id: str) -> Pushed | None:
    """The live pushed request behind ``request_uri``, if it was pushed by ``client_id``."""
    if not request_uri.startswith(URN_PREFIX):
        return None
    stored = cache.get(_key(request_uri))
    if not stored or stored["client_id"] != client_id or stored["expires"] < clock.now():
        return None
    return Pushed(
        request_uri,
        client_id,
        [(name, value) for name, value in stored["params"]],
        stored["form"],
        stored["expires"],
    )


def keep_form(pushed: Pushed, form: dict[str, Any]) -> None:
    """Remember the approval form the consent page shows for ``pushed``."""
    _store(replace(pushed, form=form))


def drop(pushed: Pushed, names: frozenset[str]) -> None:
    """Remove parameters that have been acted upon (``prompt=login`` once the user is sent to
    sign in again), keeping the rest of the request and its expiry."""
    _store(replace(pushed, params=[(n, v) for n, v in pushed.params if n not in names]))


def consume(request_uri: str) -> bool:
    """End ``request_uri``; True for exactly one caller (the cache's delete is atomic)."""
    return bool(cache.delete(_key(request_uri)))
