"""The ``apis`` section of ``manage.py apply``, and ``resources`` on clients.

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
the API writes are audited with the actor ``apply``.
"""

from __future__ import annotations

from typing import Any

from authserver.declarative import (
    CHECKS,
    SECTIONS,
    ConfigError,
    Result,
    Section,
    _where,
    apply_clients,
    section,
    string_list,
    text,
)
from oauth import api_services
from oauth.apis import MANAGEMENT
from oauth.models import Api, Client


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
            api = api_services.api_create(actor="apply", spec=entry)
            result.created("apis", identifier, {"id": api.pk})
            result.changes.append(f"created API {identifier}")
        elif api_services.api_update(actor="apply", api=api, spec=entry):
            result.changes.append(f"updated API {identifier}")


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
            where = _where(path, "apis", index, entry, "identifier")
            raise ConfigError(f"{where}.client: unknown client {client_id!r}")
    apis = set(Api.objects.values_list("identifier", flat=True))
    apis.update(entry["identifier"] for entry in document.get("apis", []))
    for index, entry in enumerate(document.get("clients", [])):
        if "resources" not in entry:
            continue
        where = _where(path, "clients", index, entry, "client_id")
        if "client_id" not in entry:
            raise ConfigError(f"{where}.resources: needs 'client_id' to set resources")
        unknown = [r for r in entry["resources"] if r not in apis]
        if unknown:
            raise ConfigError(
                f"{where}.resources: unknown API {unknown[0]!r} (register it under apis:)"
            )


def register() -> None:
    """Add the ``apis`` section (right after clients) and ``resources`` on clients."""
    if any(s.name == "apis" for s in SECTIONS):
        return
    clients = section("clients")
    SECTIONS.insert(
        SECTIONS.index(clients) + 1, Section("apis", API_SCHEMA, "identifier", apply_apis)
    )
    clients.schema["resources"] = string_list
    clients.late["resources"] = _client_resources
    CHECKS.append(check_document)
