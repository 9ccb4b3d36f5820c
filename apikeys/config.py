"""The ``api_keys`` section of ``manage.py apply``.

    api_keys:
      - name: billing-sync
        client: billing            # exactly one of user: <username> or client: <client_id>
        roles: [reader]
        expires_in: 7776000        # seconds, counted from creation
        allowed_ips: [203.0.113.0/24]

An entry names a live key of its owner. A new key is created and its full key returned once
(``--json``: ``api_keys.<name>.key``); for an existing key, ``description``, ``roles`` and
``allowed_ips`` are updated and no new key is minted (``expires_in`` only applies at creation;
rotate or revoke to change a key's secret or life). Owners and roles must exist or be listed in
the same file; that is checked before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.models import User
from apikeys import network, services
from apikeys.models import ApiKey
from core.actors import APPLY
from core.declarative import (
    CHECKS,
    SECTIONS,
    ConfigError,
    Result,
    Section,
    add_section,
    location,
    positive_int,
    text,
)
from oauth.models import Client
from roles.config import description, role_name
from roles.models import Role


def cidr_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("must be a list of CIDR networks")
    return [str(n) for n in network.parse_networks(value)]


def role_names(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("must be a list of role names")
    names = [role_name(v) for v in value]
    if len(set(names)) != len(names):
        raise ValueError("a role is listed twice")
    return names


API_KEY_SCHEMA = {
    "name": text,
    "user": text,
    "client": text,
    "description": description,
    "roles": role_names,
    "expires_in": positive_int,
    "allowed_ips": cidr_list,
}


def _owner(entry: dict[str, Any]) -> dict[str, Any]:
    if "user" in entry:
        return {"user": User.objects.get(username=entry["user"])}
    return {"client": Client.objects.get(client_id=entry["client"])}


def apply_api_keys(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        owner = _owner(entry)
        key = ApiKey.objects.filter(name=entry["name"], revoked_at__isnull=True, **owner).first()
        if key is None:
            expires_in = entry.get("expires_in")
            key, full_key = services.api_key_create(
                name=entry["name"],
                description=entry.get("description", ""),
                roles=entry.get("roles", []),
                expires_at=datetime.now(UTC) + timedelta(seconds=expires_in)
                if expires_in
                else None,
                allowed_ips=entry.get("allowed_ips", []),
                actor=APPLY,
                **owner,
            )
            result.created("api_keys", entry["name"], {"key_id": key.key_id, "key": full_key})
            result.changes.append(f"created API key {entry['name']}")
        elif services.api_key_update(
            key=key,
            description=entry.get("description"),
            roles=entry.get("roles"),
            allowed_ips=entry.get("allowed_ips"),
            actor=APPLY,
        ):
            result.changes.append(f"updated API key {entry['name']}")


def check_document(path: str, document: dict[str, list[dict[str, Any]]]) -> None:
    """Exactly one owner per key; owners and roles exist or are listed in the file."""
    roles = set(Role.objects.values_list("name", flat=True))
    roles.update(e["name"] for e in document.get("roles", []))
    for index, entry in enumerate(document.get("api_keys", [])):
        where = location(path, "api_keys", index, entry, "name")
        owners = [k for k in ("user", "client") if k in entry]
        if len(owners) != 1:
            raise ConfigError(f"{where}: give exactly one owner, 'user' or 'client'")
        if "user" in entry:
            listed = any(u.get("username") == entry["user"] for u in document.get("users", []))
            if not listed and not User.objects.filter(username=entry["user"]).exists():
                raise ConfigError(f"{where}.user: unknown user {entry['user']!r}")
        else:
            listed = any(c.get("client_id") == entry["client"] for c in document.get("clients", []))
            if not listed and not Client.objects.filter(client_id=entry["client"]).exists():
                raise ConfigError(f"{where}.client: unknown client {entry['client']!r}")
        unknown = [r for r in entry.get("roles", []) if r not in roles]
        if unknown:
            raise ConfigError(f"{where}.roles: unknown role {unknown[0]!r}")


def register() -> None:
    """Add the ``api_keys`` section, applied after users, clients and roles."""
    if any(s.name == "api_keys" for s in SECTIONS):
        return
    add_section(Section("api_keys", API_KEY_SCHEMA, "name", apply_api_keys))
    CHECKS.append(check_document)
