"""Client authentication for our own machine endpoints (introspection, decisions).

The token endpoint authenticates through oauthlib and the validator; endpoints outside oauthlib
use this, with the same cached client rows and keyed secret hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.http import HttpRequest

from oauth.generations import ProcessCache
from oauth.hashers import verify_client_secret
from oauth.models import Client
from oauth.selectors import client_get


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


# Resource servers send the same Authorization header on every call: the SHA-256 of a header
# (never the header) maps to the client_id it proved, or None, in this process until any client
# changes (new secret, deactivation) or for a minute. Bounded: it empties at 10,000 entries.
_proven = ProcessCache("clients", max_entries=10_000, max_age=60)


def authenticate_client(request: HttpRequest) -> Client | None:
    """The confidential client proven by HTTP Basic or ``client_secret_post``, else None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        key = hashlib.sha256(header.encode()).digest()
        client_id = _proven.get(key, lambda: _basic_client_id(request))
        if client_id is not None:
            if "client_secret" in request.POST:
                return None  # one authentication method per request
            return _usable(client_get(client_id))
        if basic_credentials(request) is not None:
            return None  # Basic credentials that prove nothing
    client_id = request.POST.get("client_id")
    secret = request.POST.get("client_secret")
    if not client_id or not secret:
        return None
    return _verified(client_id, secret)


def _basic_client_id(request: HttpRequest) -> str | None:
    credentials = basic_credentials(request)
    if credentials is None or _verified(*credentials) is None:
        return None
    return credentials[0]


def _verified(client_id: str, secret: str) -> Client | None:
    client = _usable(client_get(client_id))
    if client is None or not secret or not verify_client_secret(secret, client.client_secret):
        return None
    return client


def _usable(client: Client | None) -> Client | None:
    """``client`` if it may authenticate with a secret now."""
    if (
        client is None
        or not client.is_active
        or client.client_type != Client.CLIENT_CONFIDENTIAL
        or not client.client_secret
    ):
        return None
    return client
