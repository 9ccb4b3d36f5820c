"""The ``clients`` and ``apis`` sections of ``manage.py apply``, and ``resources`` on clients.

    clients:
      - client_id: webapp          # optional for a new client (one is generated)
        name: Web app
        type: confidential         # or public
        grant_types: [authorization_code, refresh_token]
        redirect_uris: [https://app.example.com/callback]
        scopes: [openid, profile]
    apis:
      - identifier: https://orders.example.com/   # the audience (RFC 8707 resource)
        name: Orders API
        client: orders-rs            # the client whose credentials the API presents
        scopes: [orders:read, orders:write]
        access_token_lifetime: 300
    clients:
      - client_id: webapp
        resources: [https://orders.example.com/, management]   # the APIs it may get tokens for

APIs are applied after clients (an API names its client), and a client's ``resources`` are set
once every API is (``Section.late``): either section may come first in the file and each may
name entries of the other. ``identifier: management`` is the built-in management API (only its
name and lifetime can be set). Unknown clients and APIs are found before anything is written;
every client and API write is audited with the actor ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.declarative import (
    CHECKS,
    SECTIONS,
    ConfigError,
    Result,
    Section,
    add_section,
    boolean,
    choice,
    location,
    mapping,
    positive_int,
    section,
    string_list,
    text,
)
from oauth import api_services
from oauth import services as client_services
from oauth.apis import MANAGEMENT
from oauth.models import (
    AUTH_METHODS,
    GRANT_DEVICE_CODE,
    ID_TOKEN_ALGORITHMS,
    PROFILES,
    TLS_CLIENT_FIELDS,
    TLS_SUBJECT_FIELDS,
    Api,
    Client,
)

GRANT_ALIASES = {"device_code": GRANT_DEVICE_CODE}
GRANT_NAMES = ("authorization_code", "client_credentials", "refresh_token", "device_code")


def grant_list(value: Any) -> list[str]:
    grants = string_list(value)
    unknown = [g for g in grants if g not in GRANT_NAMES and g != GRANT_DEVICE_CODE]
    if unknown:
        raise ValueError(
            f"unsupported grant type {unknown[0]!r} (allowed: {', '.join(GRANT_NAMES)})"
        )
    return [GRANT_ALIASES.get(g, g) for g in grants]


def scope_list(value: Any) -> list[str]:
    """Scope names, checked as everywhere else (``oauth.api_services.scope_error``)."""
    scopes = string_list(value)
    errors = [e for e in map(api_services.scope_error, scopes) if e is not None]
    if errors:
        raise ValueError(errors[0])
    return scopes


CLIENT_SCHEMA: dict[str, Callable[[Any], Any]] = {
    "client_id": text,
    "name": text,
    "type": choice(Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC),
    "grant_types": grant_list,
    "redirect_uris": string_list,
    "post_logout_redirect_uris": string_list,
    "scopes": scope_list,
    "skip_consent": boolean,
    "access_token_lifetime": positive_int,
    "token_endpoint_auth_method": choice(*AUTH_METHODS),
    "jwks": mapping,
    "jwks_uri": text,
    "id_token_signed_response_alg": choice(*ID_TOKEN_ALGORITHMS),
    "require_mfa": boolean,
    "require_verified_email": boolean,
    "require_pushed_authorization_requests": boolean,
    "backchannel_logout_uri": text,
    "backchannel_logout_session_required": boolean,
    "dpop_bound_access_tokens": boolean,
    **{field: text for field in TLS_SUBJECT_FIELDS},
    "tls_client_certificate_bound_access_tokens": boolean,
    "profile": choice("", *PROFILES),
    "is_active": boolean,
}


def apply_clients(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        client = Client.objects.filter(client_id=entry.get("client_id")).first()
        if client is None:
            client, secret = client_services.client_create(
                actor=result.actor, meta=result.meta, spec=entry
            )
            data: dict[str, Any] = {"client_id": client.client_id}
            if secret:
                data["client_secret"] = secret
            result.created("clients", client.client_id, data)
            result.changes.append(f"created client {client.client_id}")
        else:
            changed, secret = client_services.client_update(
                actor=result.actor, meta=result.meta, client=client, spec=entry
            )
            if secret:
                data = {"client_id": client.client_id, "client_secret": secret}
                result.created("clients", client.client_id, data)
            if changed:
                result.changes.append(f"updated client {client.client_id}")


def export_clients() -> list[dict[str, Any]]:
    """Every client, by client_id, without its secret; unset optional fields left out."""
    aliases = {v: k for k, v in GRANT_ALIASES.items()}
    entries = []
    for client in Client.objects.order_by("client_id"):
        entry: dict[str, Any] = {"client_id": client.client_id}
        if client.name:
            entry["name"] = client.name
        entry.update(
            type=client.client_type,
            grant_types=[aliases.get(g, g) for g in client.grant_types],
            redirect_uris=client.redirect_uris.split(),
            post_logout_redirect_uris=client.post_logout_redirect_uris.split(),
            scopes=list(client.allowed_scopes),
            skip_consent=client.skip_authorization,
            token_endpoint_auth_method=client.token_endpoint_auth_method,
        )
        optional = {
            "access_token_lifetime": client.access_token_lifetime,
            "jwks": client.jwks,
            "jwks_uri": client.jwks_uri,
            "id_token_signed_response_alg": client.id_token_signed_response_alg,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "backchannel_logout_session_required": client.backchannel_logout_session_required,
            "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
            **{field: getattr(client, field) for field in TLS_CLIENT_FIELDS},
            "profile": client.profile,
        }
        entry.update({k: v for k, v in optional.items() if v})
        entry.update(require_mfa=client.require_mfa, is_active=client.is_active)
        if client.require_verified_email:
            entry["require_verified_email"] = True
        if client.resources:
            entry["resources"] = list(client.resources)
        entries.append(entry)
    return entries


def api_identifier(value: Any) -> str:
    return value if value == MANAGEMENT else api_services.clean_identifier(value)


def client_or_none(value: Any) -> str | None:
    return None if value is None else text(value)


API_SCHEMA = {
    "identifier": api_identifier,
    "name": api_services.clean_name,
    "client": client_or_none,
    "scopes": api_services.clean_scopes,
    "access_token_lifetime": api_services.clean_lifetime,
}


def apply_apis(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        identifier = entry["identifier"]
        api = Api.objects.filter(identifier=identifier).first()
        if api is None:
            api = api_services.api_create(actor=result.actor, meta=result.meta, spec=entry)
            result.created("apis", identifier, {"id": api.pk})
            result.changes.append(f"created API {identifier}")
        elif api_services.api_update(actor=result.actor, meta=result.meta, api=api, spec=entry):
            result.changes.append(f"updated API {identifier}")


def export_apis() -> list[dict[str, Any]]:
    """Every API, the built-in management API first (only its name and lifetime)."""
    entries = []
    for api in Api.objects.select_related("client").order_by("-builtin", "identifier"):
        entry: dict[str, Any] = {"identifier": api.identifier, "name": api.name}
        if not api.builtin:
            if api.client is not None:
                entry["client"] = api.client.client_id
            entry["scopes"] = list(api.scopes)
        if api.access_token_lifetime is not None:
            entry["access_token_lifetime"] = api.access_token_lifetime
        entries.append(entry)
    return entries


def _client_resources(entry: dict[str, Any], result: Result) -> None:
    """``resources`` of a client entry, set once the file's APIs exist."""
    apply_clients([{"client_id": entry["client_id"], "resources": entry["resources"]}], result)


def check_document(path: str, document: dict[str, list[dict[str, Any]]]) -> None:
    """An API's client, and a client's resources, exist or are listed in the file."""
    clients = {c["client_id"] for c in document.get("clients", []) if "client_id" in c}
    for index, entry in enumerate(document.get("apis", [])):
        client_id = entry.get("client")
        if client_id is None or client_id in clients:
            continue
        if not Client.objects.filter(client_id=client_id).exists():
            where = location(path, "apis", index, entry, "identifier")
            raise ConfigError(f"{where}.client: unknown client {client_id!r}")
    apis = set(Api.objects.values_list("identifier", flat=True))
    apis.update(entry["identifier"] for entry in document.get("apis", []))
    for index, entry in enumerate(document.get("clients", [])):
        if "resources" not in entry:
            continue
        where = location(path, "clients", index, entry, "client_id")
        if "client_id" not in entry:
            raise ConfigError(f"{where}.resources: needs 'client_id' to set resources")
        unknown = [r for r in entry["resources"] if r not in apis]
        if unknown:
            raise ConfigError(
                f"{where}.resources: unknown API {unknown[0]!r} (register it under apis:)"
            )


def register() -> None:
    """Add the ``clients`` section and right after it ``apis`` (both before users, which
    accounts added), and ``resources`` on clients."""
    if any(s.name == "apis" for s in SECTIONS):
        return
    add_section(
        Section(
            "clients",
            dict(CLIENT_SCHEMA),
            "client_id",
            apply_clients,
            key_optional=True,
            export=export_clients,
        ),
        before="users",
    )
    add_section(
        Section("apis", API_SCHEMA, "identifier", apply_apis, export=export_apis),
        before="users",
    )
    clients = section("clients")
    clients.schema["resources"] = string_list
    clients.late["resources"] = _client_resources
    CHECKS.append(check_document)
