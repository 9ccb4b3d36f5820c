"""Writes to clients. Every save bumps the ``clients`` generation in the same transaction
(``OauthConfig.ready``: ``generations.bump_on_change``)."""

from __future__ import annotations

import copy
import json
import re
import secrets
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from jwcrypto.common import JWException
from jwcrypto.jwk import JWKSet

from accounts.selectors import live_token_count
from audit.services import record
from oauth.api_services import clean_lifetime, scope_error
from oauth.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_DEVICE_CODE,
    Api,
    Client,
    validate_redirect_uri,
)

CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,100}")

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


def _field_errors(spec: dict[str, Any], client: Client | None) -> dict[str, list[str]]:
    """What is wrong with the values of ``spec`` on their own (each field checked)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    others = Client.objects.exclude(pk=client.pk) if client is not None else Client.objects
    if spec.get("client_id") and client is None:
        client_id = spec["client_id"]
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            add("client_id", "1-100 letters, digits and . _ ~ - only")
        elif others.filter(client_id=client_id).exists():
            add("client_id", f"a client with the id {client_id!r} already exists")
    name = spec.get("name")
    if isinstance(name, str) and name.strip() and others.filter(name__iexact=name).exists():
        add("name", f"a client named {name!r} already exists")
    for scope in spec.get("scopes") or []:
        if (message := scope_error(scope)) is not None:
            add("scopes", message)
    for field in LIST_TEXT_FIELDS:
        for uri in spec.get(field) or []:
            if not isinstance(uri, str) or any(c.isspace() for c in uri):
                add(field, f"{uri}: a URI cannot contain spaces")
            elif field == "post_logout_redirect_uris":
                try:
                    validate_redirect_uri(uri)
                except ValidationError as exc:
                    errors.setdefault(field, []).extend(exc.messages)
    if "access_token_lifetime" in spec:
        try:
            clean_lifetime(spec["access_token_lifetime"])
        except ValueError as exc:
            add("access_token_lifetime", str(exc))
    if spec.get("jwks") is not None:
        try:
            JWKSet.from_json(json.dumps(spec["jwks"]))
        except (JWException, ValueError, TypeError, KeyError, AttributeError):
            add("jwks", "not a JSON Web Key Set (RFC 7517 §5)")
    return errors


def _candidate(spec: dict[str, Any], client: Client | None) -> Client:
    """``client`` (a copy: the original is left as it is) or a new one, with ``spec`` set."""
    if client is None:
        candidate = Client(
            client_type=spec.get("type", Client.CLIENT_CONFIDENTIAL), client_secret=""
        )
        if spec.get("client_id"):
            candidate.client_id = spec["client_id"]
    else:
        candidate = copy.copy(client)
    _assign(candidate, spec)
    return candidate


@transaction.atomic
def client_errors(spec: dict[str, Any], *, client: Client | None = None) -> dict[str, list[str]]:
    """Every reason ``spec`` cannot be applied (to ``client``, or as a new client), by field:
    the one validation of a client behind ``apply``, the management API and the console.
    Nothing is written."""
    errors = _field_errors(spec, client)
    checks = [lambda: _resources(spec["resources"])] if "resources" in spec else []
    others = {key: value for key, value in spec.items() if key != "resources"}
    checks.append(
        lambda: _candidate(others, client).full_clean(
            exclude=["client_secret", "user", "client_id"]
        )
    )
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                have = errors.setdefault(field, [])
                have.extend([m for m in messages if m not in have])
    return errors


def _validate(spec: dict[str, Any], client: Client | None) -> None:
    errors = client_errors(spec, client=client)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def client_create(*, spec: dict[str, Any]) -> tuple[Client, str | None]:
    """Create a client; returns it with its one-time secret (None for public/JWT clients)."""
    _validate(spec, None)
    client = _candidate(spec, None)
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
    _validate(spec, client)
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
def client_delete(*, actor: str, request: HttpRequest | None, client: Client) -> int:
    """Delete ``client`` with its grants and tokens (the rows cascade); audited as
    ``client.deleted`` with the number of live tokens that ended. Refused while a registered
    API names it. Returns that number."""
    names = list(client.apis.values_list("identifier", flat=True))
    if names:
        raise ValidationError(
            f"The API {', '.join(names)} presents this client's credentials: "
            "give it another client, or delete it, first."
        )
    client_id, tokens = client.client_id, live_token_count(application=client)
    client.delete()
    record("client.deleted", actor=actor, request=request, target=client_id, ended=tokens)
    return tokens
