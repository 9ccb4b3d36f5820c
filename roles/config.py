"""The ``roles`` section of ``manage.py apply``, and ``roles`` lists on users and clients.

    roles:
      - name: reader
        permissions: [orders:read, "GET /api/orders/**"]
      - name: editor
        parents: [reader]
    users:
      - username: alice
        roles: [editor, {name: auditor, expires: "2027-01-01T00:00:00Z"}]

Roles are applied before clients and users. A role's parents must already exist or be listed
earlier in the file (so applying in file order never passes through a cycle). Unknown role
names and cycles are found before anything is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from accounts.models import User
from core.actors import APPLY
from core.declarative import (
    CHECKS,
    SECTIONS,
    ConfigError,
    Result,
    Section,
    add_section,
    boolean,
    location,
    section,
    string_list,
)
from oauth.models import Client
from roles import policy, services
from roles.models import Role
from roles.services import AssignmentSpec


def role_name(value: Any) -> str:
    if not isinstance(value, str) or not policy.NAME_RE.fullmatch(value):
        raise ValueError("must be 1-100 letters, digits or '_.:-', starting with a letter or digit")
    return value


def description(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def permission_list(value: Any) -> list[str]:
    items = string_list(value)
    try:
        return [policy.canonical_permission(item) for item in items]
    except policy.PolicyError as exc:
        raise ValueError(str(exc)) from None


def _expiry(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expires: {value!r} is not an ISO 8601 time") from None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, datetime | date):
        raise ValueError("expires: give a time with a timezone, e.g. 2027-01-01T00:00:00Z")
    raise ValueError("expires: must be an ISO 8601 time")


def assignment_list(value: Any) -> list[AssignmentSpec]:
    """Items are role names or ``{name: ..., expires: <ISO 8601 time>}``."""
    if not isinstance(value, list):
        raise ValueError("must be a list of role names or {name, expires} mappings")
    specs: list[AssignmentSpec] = []
    for item in value:
        if isinstance(item, dict):
            if set(item) - {"name", "expires"} or "name" not in item:
                raise ValueError("an item mapping has 'name' and optionally 'expires'")
            expires = _expiry(item["expires"]) if "expires" in item else None
            specs.append(AssignmentSpec(role_name(item["name"]), expires))
        else:
            specs.append(AssignmentSpec(role_name(item)))
    if len({s.role for s in specs}) != len(specs):
        raise ValueError("a role is listed twice")
    return specs


ROLE_SCHEMA = {
    "name": role_name,
    "description": description,
    "parents": lambda v: [role_name(n) for n in string_list(v)],
    "permissions": permission_list,
    "require_mfa": boolean,
}


def apply_roles(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        fields = {k: v for k, v in entry.items() if k != "name"}
        role = Role.objects.filter(name=entry["name"]).first()
        if role is None:
            services.role_create(actor=APPLY, name=entry["name"], **fields)
            result.changes.append(f"created role {entry['name']}")
        elif services.role_update(actor=APPLY, role=role, **fields):
            result.changes.append(f"updated role {entry['name']}")


def _user_roles(entry: dict[str, Any], result: Result) -> None:
    if "roles" in entry:
        user = User.objects.get(username=entry["username"])
        if services.user_roles_set(user=user, assignments=entry["roles"]):
            result.changes.append(f"updated roles of user {user.username}")


def _client_roles(entry: dict[str, Any], result: Result) -> None:
    if "roles" in entry:
        client = Client.objects.get(client_id=entry["client_id"])
        if services.client_roles_set(client=client, assignments=entry["roles"]):
            result.changes.append(f"updated roles of client {client.client_id}")


def check_document(path: str, document: dict[str, list[dict[str, Any]]]) -> None:
    """Parents and assigned roles name known roles; the resulting graph has no cycle."""
    graph: dict[str, set[str]] = {n: set() for n in Role.objects.values_list("name", flat=True)}
    for child, parent in Role.parents.through.objects.values_list(
        "from_role__name", "to_role__name"
    ):
        graph[child].add(parent)
    entries = document.get("roles", [])
    for index, entry in enumerate(entries):
        where = location(path, "roles", index, entry, "name")
        unknown = [p for p in entry.get("parents", []) if p not in graph]
        if unknown:
            raise ConfigError(
                f"{where}.parents: unknown role {unknown[0]!r} (a parent must exist or be "
                "listed earlier in the file)"
            )
        graph[entry["name"]] = set(entry.get("parents", graph.get(entry["name"], set())))
    cycle = policy.find_cycle(graph)
    if cycle is not None:
        index = next(i for i, e in enumerate(entries) if e["name"] in cycle)
        where = location(path, "roles", index, entries[index], "name")
        raise ConfigError(f"{where}.parents: {policy.describe_cycle(cycle)}")
    for name, key in (("users", "username"), ("clients", "client_id")):
        for index, entry in enumerate(document.get(name, [])):
            if "roles" not in entry:
                continue
            where = location(path, name, index, entry, key)
            if key not in entry:
                raise ConfigError(f"{where}.roles: needs {key!r} to assign roles")
            unknown = [s.role for s in entry["roles"] if s.role not in graph]
            if unknown:
                raise ConfigError(f"{where}.roles: unknown role {unknown[0]!r}")


def register() -> None:
    """Add the ``roles`` section (first: before clients and users) and the ``roles`` fields."""
    if any(s.name == "roles" for s in SECTIONS):
        return
    add_section(Section("roles", ROLE_SCHEMA, "name", apply_roles), before="clients")
    for name, hook in (("users", _user_roles), ("clients", _client_roles)):
        target = section(name)
        target.schema["roles"] = assignment_list
        target.after.append(hook)
    CHECKS.append(check_document)
