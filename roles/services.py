"""Writes to roles, permissions and assignments.

Each service runs in one transaction and starts by bumping the ``roles`` generation: that is the
cache invalidation (every process reloads on its next request), and, because the bump updates
one row, it also serialises concurrent role writers, so two transactions cannot each add half
of a cycle. The graph is checked after the bump, before anything else is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from audit.services import record
from core import generations
from oauth.models import Client
from roles import policy
from roles.models import Assignment, ClientRole, Permission, Role, UserRole


@dataclass(frozen=True)
class AssignmentSpec:
    """A role to hold, optionally until ``expires_at`` (an aware datetime)."""

    role: str
    expires_at: datetime | None = None


def _lock_and_invalidate() -> None:
    generations.bump("roles")


def _canonical_permissions(permissions: Iterable[str]) -> list[str]:
    try:
        return sorted({policy.canonical_permission(p) for p in permissions})
    except policy.PolicyError as exc:
        raise ValidationError({"permissions": [str(exc)]}) from None


def _roles_named(names: Iterable[str], field: str) -> list[Role]:
    names = list(dict.fromkeys(names))
    found = {r.name: r for r in Role.objects.filter(name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValidationError({field: [f"unknown role(s): {', '.join(unknown)}"]})
    return [found[n] for n in names]


def _check_acyclic(role: Role, parents: list[Role]) -> None:
    """Reject ``parents`` for ``role`` if the resulting graph would have a cycle."""
    graph: dict[str, set[str]] = {}
    for child, parent in Role.parents.through.objects.values_list(
        "from_role__name", "to_role__name"
    ):
        graph.setdefault(child, set()).add(parent)
    graph[role.name] = {p.name for p in parents}
    cycle = policy.find_cycle(graph)
    if cycle is not None:
        raise ValidationError({"parents": [policy.describe_cycle(cycle)]})


def _set_permissions(role: Role, permissions: list[str]) -> bool:
    current = set(role.permissions.values_list("value", flat=True))
    if current == set(permissions):
        return False
    role.permissions.exclude(value__in=permissions).delete()
    Permission.objects.bulk_create(
        [Permission(role=role, value=v) for v in permissions if v not in current]
    )
    return True


@transaction.atomic
def role_create(
    *,
    name: str,
    description: str = "",
    parents: Sequence[str] = (),
    permissions: Sequence[str] = (),
    require_mfa: bool = False,
) -> Role:
    _lock_and_invalidate()
    values = _canonical_permissions(permissions)
    parent_roles = _roles_named(parents, "parents")
    role = Role(name=name, description=description, require_mfa=require_mfa)
    role.full_clean()
    role.save()
    role.parents.set(parent_roles)
    _set_permissions(role, values)
    return role


@transaction.atomic
def role_update(
    *,
    role: Role,
    description: str | None = None,
    parents: Sequence[str] | None = None,
    permissions: Sequence[str] | None = None,
    require_mfa: bool | None = None,
) -> bool:
    """Set the fields given (a list given replaces the stored one); returns whether it changed."""
    _lock_and_invalidate()
    changed = False
    for field, value in (("description", description), ("require_mfa", require_mfa)):
        if value is not None and getattr(role, field) != value:
            setattr(role, field, value)
            changed = True
    if changed:
        role.full_clean()
        role.save()
    if parents is not None:
        parent_roles = _roles_named(parents, "parents")
        if {p.pk for p in parent_roles} != set(role.parents.values_list("pk", flat=True)):
            _check_acyclic(role, parent_roles)
            role.parents.set(parent_roles)
            changed = True
    if permissions is not None:
        changed = _set_permissions(role, _canonical_permissions(permissions)) or changed
    return changed


@transaction.atomic
def role_rename(*, actor: str, request: HttpRequest | None, role: Role, name: str) -> bool:
    """Give ``role`` a new name (its assignments, parents and children stay, being rows);
    audited as ``role.renamed``. Returns whether the name changed."""
    _lock_and_invalidate()
    if name == role.name:
        return False
    if Role.objects.filter(name=name).exclude(pk=role.pk).exists():
        raise ValidationError({"name": [f"a role named {name!r} already exists"]})
    previous, role.name = role.name, name
    role.full_clean(validate_unique=False)
    role.save(update_fields=["name", "updated_at"])
    record("role.renamed", actor=actor, request=request, target=name, previous=previous)
    return True


@transaction.atomic
def role_delete(*, role: Role, force: bool = False) -> None:
    """Delete ``role``; refused while other roles inherit from it, unless ``force``."""
    _lock_and_invalidate()
    dependants = sorted(role.children.values_list("name", flat=True))
    if dependants and not force:
        raise ValidationError(
            f"role {role.name!r} is inherited by {', '.join(dependants)}; remove it from their "
            "parents first, or delete with force to detach it from them"
        )
    role.delete()


def _set_assignments(
    model: type[Assignment], owner: dict[str, object], specs: Sequence[AssignmentSpec]
) -> bool:
    _lock_and_invalidate()
    wanted = {s.role: s.expires_at for s in specs}
    roles = {r.name: r for r in _roles_named(wanted, "roles")}
    current = {a.role.name: a for a in model.objects.filter(**owner).select_related("role")}
    changed = False
    for name, assignment in current.items():
        if name not in wanted:
            assignment.delete()
            changed = True
        elif assignment.expires_at != wanted[name]:
            assignment.expires_at = wanted[name]
            assignment.save(update_fields=["expires_at"])
            changed = True
    for name, expires_at in wanted.items():
        if name not in current:
            model.objects.create(role=roles[name], expires_at=expires_at, **owner)
            changed = True
    return changed


@transaction.atomic
def user_roles_set(*, user: object, assignments: Sequence[AssignmentSpec]) -> bool:
    """Make ``assignments`` the user's roles (others are removed); returns whether it changed."""
    return _set_assignments(UserRole, {"user": user}, assignments)


@transaction.atomic
def client_roles_set(*, client: Client, assignments: Sequence[AssignmentSpec]) -> bool:
    """Make ``assignments`` the client's roles (others are removed)."""
    return _set_assignments(ClientRole, {"client": client}, assignments)
