"""Writes to registered APIs (``oauth.models.Api``): create, update, delete.

Each function checks everything first, then writes and records its audit event
(``api.created``, ``api.updated``, ``api.deleted``) in one transaction, so a refused change
leaves nothing behind. ``actor`` is who acted (``core.actors.Actor``: the caller's principal,
or ``APPLY``); each change needs its fresh second factor (an API names the client that learns
about its tokens: a privilege change), checked before anything else. Every save and delete bumps
the ``apis`` generation (``OauthConfig.ready``): each process sees the change on its next
request.

A spec names the fields to set (any of ``SPEC_FIELDS``); fields it leaves out keep their values:
- ``identifier``: an absolute URI (``oauth.apis.identifier_error``), unique. An API in use
  (``oauth.api_selectors.api_usage``: a client lists it, a live token carries its audience)
  keeps its identifier and is not deleted, since they would then point at nothing.
- ``name``: 1-100 characters.
- ``client``: the ``client_id`` of the client whose credentials the API presents, or None.
- ``scopes``: the scopes it defines, RFC 6749 §3.3 scope tokens.
- ``access_token_lifetime``: 1-86400 seconds, or None (the clients' and the default decide).
The built-in management API (``builtin``) keeps its identifier, client and scopes (the
``management`` scope its door checks) and is never deleted; its name and lifetime may change.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit.services import record
from core import specs
from core.actors import Actor
from core.request_meta import RequestMeta
from oauth.api_selectors import api_usage_of
from oauth.apis import identifier_error
from oauth.models import Api, Client

SPEC_FIELDS = ("identifier", "name", "client", "scopes", "access_token_lifetime")
BUILTIN_FIXED = ("identifier", "client", "scopes")
MAX_LIFETIME = 86400
MAX_SCOPES = 100
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")  # RFC 6749 §3.3, at most 100


def scope_error(scope: Any) -> str | None:
    """Why ``scope`` is not a scope name (RFC 6749 §3.3 scope-token), or None."""
    if not isinstance(scope, str) or not SCOPE_TOKEN.fullmatch(scope):
        return f'{scope!r} is not a scope name (1-100 visible ASCII characters, no " or \\)'
    return None


def clean_identifier(value: Any) -> str:
    error = identifier_error(value)
    if error is not None:
        raise ValueError(error)
    return value


def clean_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ValueError("must be 1-100 characters")
    return value.strip()


def _client(value: Any) -> Client | None:
    if value is None:
        return None
    client = Client.objects.filter(client_id=value).first() if isinstance(value, str) else None
    if client is None:
        raise ValueError(f"unknown client {value!r}")
    return client


def clean_scopes(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or len(value) > MAX_SCOPES:
        raise ValueError(f"must be a list of at most {MAX_SCOPES} scope names")
    errors = [e for e in map(scope_error, value) if e is not None]
    if errors:
        raise ValueError(errors[0])
    return list(dict.fromkeys(value))


def clean_lifetime(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_LIFETIME:
        raise ValueError(f"must be a whole number of seconds from 1 to {MAX_LIFETIME}")
    return value


# Each check returns the model value or raises ValueError(message) (``apply`` uses them too).
_CHECKS = {
    "identifier": clean_identifier,
    "name": clean_name,
    "client": _client,
    "scopes": clean_scopes,
    "access_token_lifetime": clean_lifetime,
}


def _values(spec: dict[str, Any]) -> dict[str, Any]:
    """The model values ``spec`` asks for; every invalid field is named in one error."""
    return specs.checked(spec, _CHECKS, "an API")


def _changes(api: Api, values: dict[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in values.items() if getattr(api, field) != value}


def _check_identifier(api: Api, identifier: str) -> None:
    if Api.objects.filter(identifier=identifier).exclude(pk=api.pk).exists():
        raise ValidationError({"identifier": ["an API with this identifier already exists"]})
    if api.pk is not None:
        usage = api_usage_of(api)
        if usage.in_use:
            raise ValidationError(
                {"identifier": [f"cannot change while the API is in use: {usage.describe()}"]}
            )


def _lock(api: Api) -> None:
    """Reload ``api`` and lock its row until the transaction ends (``oauth.services`` locks
    the rows a client's ``resources`` name, so deleting and listing an API serialise)."""
    try:
        api.refresh_from_db(from_queryset=Api.objects.select_for_update())
    except Api.DoesNotExist:
        raise ValidationError("The API no longer exists.") from None


def _save(api: Api) -> None:
    try:
        with transaction.atomic():
            api.save()
    except IntegrityError:  # a concurrent write took the identifier first
        raise ValidationError(
            {"identifier": ["an API with this identifier already exists"]}
        ) from None


def _audit_data(api: Api) -> dict[str, Any]:
    return {
        "identifier": api.identifier,
        "name": api.name,
        "client": api.client.client_id if api.client is not None else None,
        "scopes": list(api.scopes),
        "lifetime": api.access_token_lifetime,  # a key naming "token" would be masked
    }


@transaction.atomic
def api_create(*, actor: Actor, meta: RequestMeta | None = None, spec: dict[str, Any]) -> Api:
    """Register an API; ``spec`` needs ``identifier`` and ``name``."""
    actor.require_fresh_factor()
    missing = [field for field in ("identifier", "name") if field not in spec]
    if missing:
        raise ValidationError({field: ["this field is required"] for field in missing})
    values = _values(spec)
    api = Api(**values)
    _check_identifier(api, api.identifier)
    _save(api)
    record(
        "api.created",
        actor=actor.audit_name,
        meta=meta,
        target=f"api:{api.identifier}",
        **_audit_data(api),
    )
    return api


@transaction.atomic
def api_update(
    *, actor: Actor, meta: RequestMeta | None = None, api: Api, spec: dict[str, Any]
) -> bool:
    """Set the fields ``spec`` names on ``api``; returns whether anything changed."""
    actor.require_fresh_factor()
    _lock(api)
    if spec.get("identifier") == api.identifier:  # unchanged (``management`` included)
        spec = {k: v for k, v in spec.items() if k != "identifier"}
    changes = _changes(api, _values(spec))
    if not changes:
        return False
    fixed = [field for field in BUILTIN_FIXED if field in changes] if api.builtin else []
    if fixed:
        raise ValidationError({field: ["the built-in management API keeps it"] for field in fixed})
    if "identifier" in changes:
        _check_identifier(api, changes["identifier"])
    target = f"api:{api.identifier}"
    for field, value in changes.items():
        setattr(api, field, value)
    _save(api)
    record(
        "api.updated",
        actor=actor.audit_name,
        meta=meta,
        target=target,
        fields=sorted(changes),
        **_audit_data(api),
    )
    return True


@transaction.atomic
def api_delete(*, actor: Actor, meta: RequestMeta | None = None, api: Api) -> None:
    """Delete an API no client lists and no live token carries (else a ValidationError
    saying what uses it); the built-in management API is never deleted."""
    actor.require_fresh_factor()
    _lock(api)
    if api.builtin:
        raise ValidationError("The built-in management API cannot be deleted.")
    usage = api_usage_of(api)
    if usage.in_use:
        raise ValidationError(f"API {api.identifier} is in use: {usage.describe()}.")
    data = _audit_data(api)
    api.delete()
    target = f"api:{data['identifier']}"
    record("api.deleted", actor=actor.audit_name, meta=meta, target=target, **data)
