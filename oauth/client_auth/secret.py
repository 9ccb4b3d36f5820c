"""Client secrets: the hasher they are stored with, and client authentication by secret for our
own machine endpoints (introspection, decisions).

The hasher is HMAC-SHA256 with a server-side pepper (``core.crypto.keyed_hash``), registered in
``PASSWORD_HASHERS`` (never first: people's passwords use Argon2id) and selected for client
secrets by ``OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]``. The token endpoint authenticates
through oauthlib and the validator; endpoints outside oauthlib use ``authenticate_client``, with
the same cached client rows and keyed secret hash.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import BasePasswordHasher, check_password, mask_hash
from django.http import HttpRequest

from core.crypto import keyed_hash
from oauth import tokens
from oauth.client_auth import mtls
from oauth.models import Client
from oauth.selectors import client_get


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "hmac_sha256"

    def salt(self) -> str:
        return ""  # 256-bit random secrets need no salt; the pepper keys the hash

    def encode(self, password: str, salt: str) -> str:
        return f"{self.algorithm}$${keyed_hash(password, 'client-secret')}"

    def decode(self, encoded: str) -> dict[str, str]:
        algorithm, salt, digest = encoded.split("$", 2)
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        return hmac.compare_digest(encoded, self.encode(password, ""))

    def safe_summary(self, encoded: str) -> dict[str, str]:
        return {"algorithm": self.algorithm, "hash": mask_hash(self.decode(encoded)["hash"])}

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None


_client_secret_hasher = ClientSecretHasher()


def verify_client_secret(secret: str, encoded: str) -> bool:
    """Whether ``secret`` is the client secret stored as ``encoded``: our keyed hash directly
    (every client authentication pays this, and Django's ``check_password`` looks the hasher up
    twice first), a secret stored by another Django hasher through ``check_password``. A value
    stored in clear never matches (DOT's own check would compare it)."""
    if encoded.startswith(f"{ClientSecretHasher.algorithm}$"):
        return _client_secret_hasher.verify(secret, encoded)
    return check_password(secret, encoded)


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
    """The confidential client proven by HTTP Basic, ``client_secret_post`` or its TLS client
    certificate (a ``client_id`` alone: ``mtls``), else None."""
    credentials = basic_credentials(request)
    if credentials is None:
        client_id = request.POST.get("client_id")
        secret = request.POST.get("client_secret")
        if client_id and secret is None:
            return mtls.authenticate_client(request, client_id)
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


def claimed_client_id(request: HttpRequest) -> str:
    """The client the request says it is (not yet proven): Basic, body, or assertion ``sub``."""
    credentials = basic_credentials(request)
    if credentials is not None:
        return credentials[0][:255]
    if request.POST.get("client_id"):
        return request.POST["client_id"][:255]
    claims = tokens.unverified_claims(request.POST.get("client_assertion", "")) or {}
    sub = claims.get("sub")
    return sub[:255] if isinstance(sub, str) else ""
