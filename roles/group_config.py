"""The ``groups`` section of ``manage.py apply``, and ``groups`` lists on users (issue 20).

    groups:
      - name: support
        description: First-line support
        roles: [reader]
        parents: [staff]          # a parent must exist or be listed earlier in the file
        members: [alice, bob]     # or ``groups: [support]`` on a user entry
    users:
      - username: carol
        groups: [support]

Groups are applied after roles and before users; ``members`` is set once every section is
applied (so the users of the same file exist by then). A list given replaces the stored one.
Unknown roles, groups and users, cycles, and a group's ``members`` contradicting a user's
``groups`` are found before anything is written. The export lists members on the groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User
from core.declarative import (
    CHECKS,
    SECTIONS,
    ConfigError,
    Result,
    Section,
    add_section,
    location,
    section,
    string_list,
)
from roles import group_services, policy
from roles.config import description, role_name
from roles.models import Group, Role


def group_name(value: Any) -> str:
    return role_name(value)  # the same alphabet


def _unique(check: Callable[[Any], str], what: str) -> Callable[[Any], list[str]]:
    """A checker of a list of distinct names, each passing ``check``."""

    def names(value: Any) -> list[str]:
        items = [check(n) for n in string_list(value)]
        if len(set(items)) != len(items):
            raise ValueError(f"a {what} is listed twice")
        return items

    return names


_names = _unique(group_name, "name")
_usernames = _unique(str, "user")


GROUP_SCHEMA = {
    "name": group_name,
    "description": description,
    "parents": _names,
    "roles": _names,
    "members": _usernames,
}


def apply_groups(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        fields = {k: v for k, v in entry.items() if k in ("description", "parents", "roles")}
        group = Group.objects.filter(name=entry["name"]).first()
        if group is None:
            group_services.group_create(
                actor=result.actor, meta=result.meta, name=entry["name"], **fields
            )
            result.changes.append(f"created group {entry['name']}")
        elif group_services.group_update(
            actor=result.actor, meta=result.meta, group=group, **fields
        ):
            result.changes.append(f"updated group {entry['name']}")


def _members(entry: dict[str, Any], result: Result) -> None:
    group = Group.objects.get(name=entry["name"])
    if group_services.group_members_set(
        actor=result.actor, meta=result.meta, group=group, usernames=entry["members"]
    ):
        result.changes.append(f"updated members of group {group.name}")


def _user_groups(entry: dict[str, Any], result: Result) -> None:
    if "groups" in entry:
        user = User.objects.get(username=entry["username"])
        if group_services.user_groups_set(
            actor=result.actor, meta=result.meta, user=user, groups=entry["groups"]
        ):
            result.changes.append(f"updated groups of user {user.username}")


def export_groups() -> list[dict[str, Any]]:
    """Every group with its parents, roles and members, each parent before its children."""
    groups = {g.name: g for g in Group.objects.prefetch_related("parents", "roles", "members")}
    entries: list[dict[str, Any]] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        group = groups[name]
        parents = sorted(p.name for p in group.parents.all())
        for parent in parents:
            visit(parent)
        entry: dict[str, Any] = {"name": name}
        if group.description:
            entry["description"] = group.description
        if parents:
            entry["parents"] = parents
        entry["roles"] = sorted(r.name for r in group.roles.all())
        entry["members"] = sorted(u.username for u in group.members.all())
        entries.append(entry)

    for name in sorted(groups):
        visit(name)
    return entries


def check_document(path: str, document: dict[str, list[dict[str, Any]]]) -> None:
    """Parents, roles, members and users' groups name known things; no cycle; a group's
    ``members`` and a user's ``groups`` agree."""
    roles = set(Role.objects.values_list("name", flat=True))
    roles |= {e["name"] for e in document.get("roles", [])}
    graph: dict[str, set[str]] = {n: set() for n in Group.objects.values_list("name", flat=True)}
    for child, parent in Group.parents.through.objects.values_list(
        "from_group__name", "to_group__name"
    ):
        graph[child].add(parent)
    users = set(User.objects.values_list("username", flat=True))
    users |= {e["username"] for e in document.get("users", []) if "username" in e}
    entries = document.get("groups", [])
    for index, entry in enumerate(entries):
        where = location(path, "groups", index, entry, "name")
        for field, known, what in (
            ("parents", graph, "group {!r} (a parent must exist or be listed earlier in the file)"),
            ("roles", roles, "role {!r}"),
            ("members", users, "user {!r}"),
        ):
            unknown = [n for n in entry.get(field, []) if n not in known]
            if unknown:
                raise ConfigError(f"{where}.{field}: unknown {what.format(unknown[0])}")
        graph[entry["name"]] = set(entry.get("parents", graph.get(entry["name"], set())))
    cycle = policy.find_cycle(graph)
    if cycle is not None:
        index = next(i for i, e in enumerate(entries) if e["name"] in cycle)
        where = location(path, "groups", index, entries[index], "name")
        raise ConfigError(f"{where}.parents: {policy.describe_cycle(cycle, 'groups')}")
    members = {e["name"]: set(e["members"]) for e in entries if "members" in e}
    for index, entry in enumerate(document.get("users", [])):
        if "groups" not in entry:
            continue
        where = location(path, "users", index, entry, "username")
        if "username" not in entry:
            raise ConfigError(f"{where}.groups: needs 'username' to join groups")
        unknown = [n for n in entry["groups"] if n not in graph]
        if unknown:
            raise ConfigError(f"{where}.groups: unknown group {unknown[0]!r}")
        for name, listed in members.items():
            if (name in entry["groups"]) != (entry["username"] in listed):
                raise ConfigError(
                    f"{where}.groups: contradicts the members of group {name!r} in this file"
                )


def register() -> None:
    """Add the ``groups`` section (after roles, before clients and users) and users' ``groups``."""
    if any(s.name == "groups" for s in SECTIONS):
        return
    add_section(
        Section(
            "groups",
            GROUP_SCHEMA,
            "name",
            apply_groups,
            late={"members": _members},
            export=export_groups,
        ),
        before="clients",
    )
    users = section("users")
    users.schema["groups"] = _names
    users.after.append(_user_groups)
    CHECKS.append(check_document)
