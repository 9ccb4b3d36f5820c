"""The ``directories`` section of ``manage.py apply`` (after roles and groups: a mapping
names them).

    directories:
      - slug: corp
        name: Corp LDAP
        urls: [ldaps://ldap1.corp.example, ldaps://ldap2.corp.example]   # tried in order
        start_tls: false              # StartTLS on ldap:// URLs
        ca_file: /etc/ssl/corp-ca.pem # default: the system's CAs
        bind_mode: search             # or direct (user_dn_template)
        bind_dn: cn=reader,dc=corp,dc=example
        bind_password: "..."          # stored encrypted, never exported
        user_base: ou=people,dc=corp,dc=example
        user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
        attributes: {username: uid, email: mail, name: cn, uuid: entryUUID}
        groups: {base: "ou=groups,dc=corp,dc=example", filter: "(objectClass=groupOfNames)",
                 member_attribute: member, name_attribute: cn}
        role_mapping:
          - group: platform-admins    # the group's name (cn) or DN
            roles: [admin]
            groups: [operators]       # local groups, joined while the user is in the group
        provision: true               # create the local user at the first sign-in
        sync: true                    # the periodic sync disables users gone from it

Each entry is written through ``directory.services`` (audited as ``apply``, validated with every
field's reasons); fields an entry does not name keep their stored values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.declarative import (
    Result,
    Section,
    add_section,
    boolean,
    choice,
    mapping,
    string_list,
    text,
)
from directory import services
from directory.models import Directory

ATTRIBUTES = {
    "username": "username_attribute",
    "email": "email_attribute",
    "name": "name_attribute",
    "uuid": "uuid_attribute",
}
GROUPS = {
    "base": "group_base",
    "filter": "group_filter",
    "member_attribute": "group_member_attribute",
    "name_attribute": "group_name_attribute",
}


def _sub_mapping(fields: dict[str, str]) -> Callable[[Any], dict[str, str]]:
    def check(value: Any) -> dict[str, str]:
        value = mapping(value)
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (allowed: {', '.join(fields)})")
        if not all(isinstance(v, str) for v in value.values()):
            raise ValueError("values must be strings")
        return value

    return check


RULE_SHAPE = "each rule is {group: <name or DN>, roles: [role, ...], groups: [group, ...]}"


def role_rules(value: Any) -> list[dict[str, Any]]:
    """Canonical rules: ``roles`` always (possibly empty), ``groups`` (local groups) when any."""
    if not isinstance(value, list):
        raise ValueError("must be a list of {group, roles, groups}")
    rules = []
    for rule in value:
        if (
            not isinstance(rule, dict)
            or "group" not in rule
            or set(rule) - {"group", "roles", "groups"}
            or not (rule.get("roles") or rule.get("groups"))
        ):
            raise ValueError(RULE_SHAPE)
        clean = {"group": text(rule["group"]), "roles": string_list(rule.get("roles", []))}
        if rule.get("groups"):
            clean["groups"] = string_list(rule["groups"])
        rules.append(clean)
    return rules


def optional_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


DIRECTORY_SCHEMA: dict[str, Callable[[Any], Any]] = {
    "slug": text,
    "name": text,
    "enabled": boolean,
    "urls": string_list,
    "start_tls": boolean,
    "ca_file": optional_text,
    "allow_plaintext": boolean,
    "bind_mode": choice(*Directory.BindMode.values),
    "user_dn_template": optional_text,
    "bind_dn": optional_text,
    "bind_password": optional_text,
    "user_base": optional_text,
    "user_filter": text,
    "attributes": _sub_mapping(ATTRIBUTES),
    "groups": _sub_mapping(GROUPS),
    "role_mapping": role_rules,
    "provision": boolean,
    "sync": boolean,
}


def spec_of(entry: dict[str, Any]) -> dict[str, Any]:
    """An apply entry as the services' flat spec."""
    spec = {k: v for k, v in entry.items() if k not in ("slug", "attributes", "groups")}
    for key, field in ATTRIBUTES.items():
        if key in entry.get("attributes", {}):
            spec[field] = entry["attributes"][key]
    for key, field in GROUPS.items():
        if key in entry.get("groups", {}):
            spec[field] = entry["groups"][key]
    return spec


def apply_directories(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        spec = spec_of(entry)
        directory = Directory.objects.filter(slug=entry["slug"]).first()
        if directory is None:
            spec.setdefault("name", entry["slug"])
            services.directory_create(
                actor=result.actor, meta=result.meta, slug=entry["slug"], spec=spec
            )
            result.changes.append(f"created directory {entry['slug']}")
        elif services.directory_update(
            actor=result.actor, meta=result.meta, directory=directory, spec=spec
        ):
            result.changes.append(f"updated directory {entry['slug']}")


def export_entry(directory: Directory) -> dict[str, Any]:
    """One directory as its apply entry, without the service account's password."""
    entry: dict[str, Any] = {"slug": directory.slug}
    for field in (
        "name",
        "enabled",
        "urls",
        "start_tls",
        "ca_file",
        "allow_plaintext",
        "bind_mode",
        "user_dn_template",
        "bind_dn",
        "user_base",
        "user_filter",
    ):
        entry[field] = getattr(directory, field)
    entry["attributes"] = {key: getattr(directory, field) for key, field in ATTRIBUTES.items()}
    entry["groups"] = {key: getattr(directory, field) for key, field in GROUPS.items()}
    entry.update(
        role_mapping=directory.role_mapping, provision=directory.provision, sync=directory.sync
    )
    return entry


def export_directories() -> list[dict[str, Any]]:
    return [export_entry(d) for d in Directory.objects.order_by("slug")]


def register() -> None:
    add_section(
        Section(
            "directories",
            dict(DIRECTORY_SCHEMA),
            "slug",
            apply_directories,
            export=export_directories,
        )
    )
