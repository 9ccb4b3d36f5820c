"""Writes to clients. Every save bumps the ``clients`` generation in the same transaction
(``OauthConfig.ready``: ``generations.bump_on_change``)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from audit.services import delete_recorded
from oauth.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_DEVICE_CODE,
    Api,
    Client,
)

# Fields a client spec may set directly on the model (the rest are mapped below).
CLIENT_FIELDS = {
    "name": "name",
    "grant_types": "grant_types",
    "scopes": "allowed_scopes",
    "skip_consent": "skip_authorization",
    "access_token_lifetime": "access_token_lifetime",
    "token_endpoint_auth_method": "token_endpoint_auth_method",
    "jwks": "jwks",
    "jwks_uri": "jwks_uri",
    "id_token_signed_response_alg": "id_token_signed_response_alg",
    "require_mfa": "require_mfa",
    "is_active": "is_active",
}
LIST_TEXT_FIELDS = {
    "redirect_uris": "redirect_uris",
    "post_logout_redirect_uris": "post_logout_redirect_uris",
}


def new_client_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _dot_grant_type(grant_types: list[str]) -> str:
    """DOT's single ``authorization_grant_type`` column, kept consistent with our list."""
    if GRANT_AUTHORIZATION_CODE in grant_types:
        return Client.GRANT_AUTHORIZATION_CODE
    if GRANT_DEVICE_CODE in grant_types:
        return Client.GRANT_DEVICE_CODE
    return Client.GRANT_CLIENT_CREDENTIALS


def _resources(value: Any) -> list[str]:
    """A client's ``resources``: identifiers of registered APIs (``management`` for the
    built-in one), each once. The rows are locked until the write commits, so an API cannot be
    deleted between this check and the write (``oauth.api_services.api_delete``)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({"resources": ["must be a list of API identifiers"]})
    wanted = list(dict.fromkeys(value))
    known = set(
        Api.objects.select_for_update()
        .filter(identifier__in=wanted)
        .values_list("identifier", flat=True)
    )
    unknown = [identifier for identifier in wanted if identifier not in known]
    if unknown:
        raise ValidationError({"resources": [f"not a registered API: {', '.join(unknown)}"]})
    return wanted


def _assign(client: Client, spec: dict[str, Any]) -> None:
    for key, field in CLIENT_FIELDS.items():
        if key in spec:
            setattr(client, field, spec[key])
    if "resources" in spec:
        client.resources = _resources(spec["resources"])
    for key, field in LIST_TEXT_FIELDS.items():
        if key in spec:
            setattr(client, field, " ".join(spec[key]))
    if "type" in spec:
        client.client_type = spec["type"]
        if "token_endpoint_auth_method" not in spec:
            client.token_endpoint_auth_method = (
                "none" if spec["type"] == Client.CLIENT_PUBLIC else "client_secret_basic"
            )
    client.authorization_grant_type = _dot_grant_type(client.grant_types)
    client.algorithm = Client.RS256_ALGORITHM


def spec_changes(client: Client, spec: dict[str, Any]) -> set[str]:
    """The names in ``spec`` whose value differs from ``client``'s now (nothing is set)."""

    def current(key: str) -> Any:
        if key in CLIENT_FIELDS:
            return getattr(client, CLIENT_FIELDS[key])
        if key in LIST_TEXT_FIELDS:
            return getattr(client, LIST_TEXT_FIELDS[key]).split()
        return client.client_type if key == "type" else getattr(client, key, None)

    return {
        key
        for key, value in spec.items()
        if current(key) != (list(value) if key in LIST_TEXT_FIELDS else value)
    }


def _needs_secret(client: Client) -> bool:
    return (
        client.client_type == Client.CLIENT_CONFIDENTIAL
        and client.token_endpoint_auth_method
        in (
            "client_secret_basic",
            "client_secret_post",
        )
    )


@transaction.atomic
def client_create(*, spec: dict[str, Any]) -> tuple[Client, str | None]:
    """Create a client; returns it with its one-time secret (None for public/JWT clients)."""
    client = Client(client_type=spec.get("type", Client.CLIENT_CONFIDENTIAL), client_secret="")
    if spec.get("client_id"):
        client.client_id = spec["client_id"]
    _assign(client, spec)
    secret = None
    if _needs_secret(client):
        secret = new_client_secret()
        client.client_secret = make_password(secret, hasher="hmac_sha256")
    client.hash_client_secret = secret is not None  # never hash "" into a usable secret
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    return client, secret


def _state(client: Client) -> dict[str, Any]:
    return {f.attname: getattr(client, f.attname) for f in client._meta.concrete_fields}


@transaction.atomic
def client_update(*, client: Client, spec: dict[str, Any]) -> tuple[bool, str | None]:
    """Update the fields ``spec`` names. Returns (changed, new secret if one had to be made)."""
    before = _state(client)
    _assign(client, spec)
    secret = None
    if _needs_secret(client) and not client.client_secret:
        secret = new_client_secret()
        client.client_secret = make_password(secret, hasher="hmac_sha256")
    elif not _needs_secret(client):
        client.client_secret = ""
    client.hash_client_secret = bool(client.client_secret)
    if _state(client) == before:
        return False, None
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    return True, secret


@transaction.atomic
def client_rotate_secret(*, client: Client) -> str:
    secret = new_client_secret()
    client.client_secret = make_password(secret, hasher="hmac_sha256")
    client.save(update_fields=["client_secret", "updated"])
    return secret


@transaction.atomic
def client_delete(
    *, client: Client, actor: str, request: HttpRequest | None = None
) -> dict[str, int]:
    """Delete ``client`` and everything issued to it, recorded as ``client.deleted`` (by
    ``actor``). Refused (a ValidationError naming them) while a registered API presents its
    credentials: the API would be left without one. Its tokens, refresh tokens, codes,
    sign-in contexts, API keys and role assignments go with the row (cascades of it); its
    client-credentials tokens have no row and stop because every use checks the client
    (``oauth.clienttokens``). Returns the rows removed by kind, the client's own included."""
    Client.objects.select_for_update().filter(pk=client.pk).first()
    apis = sorted(client.apis.values_list("identifier", flat=True))
    if apis:
        raise ValidationError(
            f"Client {client.client_id!r} is the client of the API(s) {', '.join(apis)}: "
            "give them another client (or delete them) first."
        )
    return delete_recorded(
        client, "client.deleted", actor=actor, target=client.client_id, request=request
    )
