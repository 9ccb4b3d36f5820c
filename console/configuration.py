"""Importing a configuration file from the console: the guard, the dry run and the audited apply.

The file is an ``apply`` YAML, checked and applied by the framework (``core.declarative``) as
``manage.py apply`` does it; what the console adds is who may do it. The actor needs a fresh
second factor (only for the apply, not the dry run) and must hold every permission the file's
roles carry (inherited included), every permission of the roles and groups it names, and every
permission held now by the users (their groups' included) and clients it changes (so nobody
above the actor is changed): the hierarchy guard of ``roles.access``, over the whole file at
once. The sections' services then
write as the actor (their own guards and audit events name the admin, not ``apply``); the
apply and its one ``config.imported`` audit event commit together, or nothing does.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.services import record
from core import declarative
from core.actors import Actor
from core.request_meta import RequestMeta
from roles import access
from roles.models import ClientRole, Group, UserRole

Document = dict[str, list[dict[str, Any]]]


def _named_roles(document: Document) -> set[str]:
    """Every role the document defines, inherits from or assigns."""
    names = set()
    for entry in document.get("roles", []):
        names.add(entry["name"])
        names.update(entry.get("parents", []))
    for section in ("users", "clients"):
        for entry in document.get(section, []):
            names.update(spec.role for spec in entry.get("roles", []))
    for entry in document.get("api_keys", []):
        names.update(entry.get("roles", []))
    for entry in document.get("groups", []):
        names.update(entry.get("roles", []))
    return names


def _named_groups(document: Document) -> set[str]:
    """Every stored group the document changes, nests under or makes someone a member of."""
    names = set()
    for entry in document.get("groups", []):
        names.add(entry["name"])
        names.update(entry.get("parents", []))
    for entry in document.get("users", []):
        names.update(entry.get("groups", []))
    return names


def _guard(actor: Actor, document: Document) -> None:
    wanted = {p for entry in document.get("roles", []) for p in entry.get("permissions", [])}
    usernames = [e["username"] for e in document.get("users", [])]
    client_ids = [e["client_id"] for e in document.get("clients", []) if "client_id" in e]
    held = set(
        UserRole.objects.filter(user__username__in=usernames).values_list("role__name", flat=True)
    )
    held.update(
        ClientRole.objects.filter(client__client_id__in=client_ids).values_list(
            "role__name", flat=True
        )
    )
    groups = _named_groups(document) | set(
        Group.members.through.objects.filter(user__username__in=usernames).values_list(
            "group__name", flat=True
        )
    )
    wanted |= access.role_permissions(_named_roles(document) | held)
    wanted |= access.group_permissions(groups)
    actor.require_covers(wanted, what="The file")


def plan(*, actor: Actor, label: str, content: str) -> declarative.Plan:
    """What importing ``content`` would do (``declarative.plan_text``), once the file is valid
    and within the actor's own permissions; nothing is written. Raises ``ConfigError``,
    ``roles.access.EscalationDenied``."""
    _guard(actor, declarative.check_text(label, content))
    return declarative.plan_text(label, content)


@transaction.atomic
def apply(*, actor: Actor, meta: RequestMeta, label: str, content: str) -> declarative.Result:
    """Apply ``content`` as ``manage.py apply`` would, after a fresh second factor and the
    guard; one audit event (how many entries per section, what changed). All or nothing."""
    actor.require_fresh_factor()
    document = declarative.check_text(label, content)
    _guard(actor, document)
    result = declarative.apply_text(label, content, actor=actor, meta=meta)
    record(
        "config.imported",
        actor=actor.audit_name,
        meta=meta,
        target=label,
        entries={name: len(entries) for name, entries in document.items()},
        changes=result.changes,
    )
    return result
