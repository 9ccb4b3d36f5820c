"""Client authentication for our own machine endpoints (introspection, decisions).

The token endpoint authenticates through oauthlib and the validator; endpoints outside oauthlib
use this, with the same cached client rows and keyed secret hash.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.http import HttpRequest

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
