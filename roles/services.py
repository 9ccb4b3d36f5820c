"""Writes to roles, permissions and assignments, each with its audit event in the same
transaction.

Every service takes the acting ``core.actors.Actor`` and the request's ``RequestMeta``
keyword-only. A change of privileges needs the actor's fresh second factor (SECURITY 85), checked
before anything is read or written, and the role as it will be (own and inherited permissions),
or the role handed out or taken away, must be within the actor's own permissions (the hierarchy
guard, ``roles.access.require_covers``). ``user_roles_set``/``client_roles_set`` are the plain
setters ``manage.py apply`` uses (not audited, as before); the surfaces call ``user_role_set``,
``client_role_set`` and ``user_roles_replace``.

Each service runs in one transaction and starts by bumping the ``roles`` generation: that is the
cache invalidation (every process reloads on its next request), and, because the bump updates
one row, it also serialises concurrent role writers, so two transactions cannot each add half
of a cycle. The graph is checked after the bump, before anything else is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from accounts.models import User
from audit.services import record
from core import generations
from core.actors import Actor
from core.request_meta import RequestMeta
from oauth.models import Client
from roles import access, policy
from roles.models import Assignment, ClientRole, Group, Permission, Role, UserRole


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


def rows_named(
    model: type[models.Model], names: Iterable[str], field: str, *, key: str = "name"
) -> list[Any]:
    """The ``model`` rows whose ``key`` is each of ``names``, in that order (repeats once);
    a ``ValidationError`` on ``field`` naming the unknown ones."""
    names = list(dict.fromkeys(names))
    found = {getattr(row, key): row for row in model.objects.filter(**{f"{key}__in": names})}
    unknown = [n for n in names if n not in found]
    if unknown:
        kind = model._meta.verbose_name
        raise ValidationError({field: [f"unknown {kind}(s): {', '.join(unknown)}"]})
    return [found[n] for n in names]


def check_acyclic(node: Role | Group, parents: list[Any]) -> None:
    """Reject ``parents`` for ``node`` (a role or a group) if its hierarchy would then have a
    cycle."""
    model = type(node)
    name = model._meta.model_name
    graph: dict[str, set[str]] = {}
    for child, parent in model.parents.through.objects.values_list(
        f"from_{name}__name", f"to_{name}__name"
    ):
        graph.setdefault(child, set()).add(parent)
    graph[node.name] = {p.name for p in parents}
    cycle = policy.find_cycle(graph)
    if cycle is not None:
        kind = model._meta.verbose_name_plural
        raise ValidationError({"parents": [policy.describe_cycle(cycle, kind)]})


def _set_permissions(role: Role, permissions: list[str]) -> bool:
    current = set(role.permissions.values_list("value", flat=True))
    if current == set(permissions):
        return False
    role.permissions.exclude(value__in=permissions).delete()
    Permission.objects.bulk_create(
        [Permission(role=role, value=v) for v in permissions if v not in current]
    )
    return True


def _guard_role_shape(
    actor: Actor, name: str, parents: Iterable[str], permissions: Sequence[str]
) -> None:
    """The role as it will be (own plus inherited permissions) must be within the actor's."""
    own = set(_canonical_permissions(permissions))
    actor.require_covers(own | access.role_permissions(parents), what=f"Role {name!r}")


@transaction.atomic
def role_create(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    name: str,
    description: str = "",
    parents: Sequence[str] = (),
    permissions: Sequence[str] = (),
    require_mfa: bool = False,
) -> Role:
    actor.require_fresh_factor()
    _guard_role_shape(actor, name, parents, permissions)
    _lock_and_invalidate()
    values = _canonical_permissions(permissions)
    parent_roles = rows_named(Role, parents, "parents")
    role = Role(name=name, description=description, require_mfa=require_mfa)
    role.full_clean()
    role.save()
    role.parents.set(parent_roles)
    _set_permissions(role, values)
    record(
        "role.created",
        actor=actor.audit_name,
        meta=meta,
        target=role.name,
        parents=sorted(parents),
        permissions=values,
        require_mfa=require_mfa,
    )
    return role


@transaction.atomic
def role_update(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    parents: Sequence[str] | None = None,
    permissions: Sequence[str] | None = None,
    require_mfa: bool | None = None,
) -> bool:
    """Set the fields given (a list given replaces the stored one); returns whether it changed.
    The actor must hold what the role has now (``access_role(for_write=True)``, the caller's)
    and what it will have; a change of its name, parents, permissions or ``require_mfa`` needs
    a fresh second factor (its description alone does not). A new name is ``role_rename``'s
    (audited ``role.renamed``), the rest ``role.updated``."""
    old_parents = set(role.parents.values_list("name", flat=True))
    old_permissions = set(role.permissions.values_list("value", flat=True))
    new_parents = set(parents) if parents is not None else old_parents
    new_permissions = list(permissions) if permissions is not None else sorted(old_permissions)
    if (
        new_parents != old_parents
        or set(_canonical_permissions(new_permissions)) != old_permissions
        or (require_mfa is not None and require_mfa != role.require_mfa)
    ):
        actor.require_fresh_factor()
    _guard_role_shape(actor, name or role.name, new_parents, new_permissions)
    renamed = name is not None and role_rename(actor=actor, meta=meta, role=role, name=name)
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
        parent_roles = rows_named(Role, parents, "parents")
        if {p.pk for p in parent_roles} != set(role.parents.values_list("pk", flat=True)):
            check_acyclic(role, parent_roles)
            role.parents.set(parent_roles)
            changed = True
    if permissions is not None:
        changed = _set_permissions(role, _canonical_permissions(permissions)) or changed
    if changed:
        given = {
            "description": description,
            "parents": parents,
            "permissions": permissions,
            "require_mfa": require_mfa,
        }
        record(
            "role.updated",
            actor=actor.audit_name,
            meta=meta,
            target=role.name,
            fields=sorted(k for k, v in given.items() if v is not None),
        )
    return changed or renamed


@transaction.atomic
def role_rename(*, actor: Actor, meta: RequestMeta | None = None, role: Role, name: str) -> bool:
    """Give ``role`` a new name (needs a fresh second factor: policies and tokens call it by
    it); its assignments, parents and children stay, being rows. Audited as ``role.renamed``;
    returns whether the name changed."""
    if name == role.name:
        return False
    actor.require_fresh_factor()
    _lock_and_invalidate()
    if Role.objects.filter(name=name).exclude(pk=role.pk).exists():
        raise ValidationError({"name": [f"a role named {name!r} already exists"]})
    previous, role.name = role.name, name
    role.full_clean(validate_unique=False)
    role.save(update_fields=["name", "updated_at"])
    record("role.renamed", actor=actor.audit_name, meta=meta, target=name, previous=previous)
    return True


@transaction.atomic
def role_delete(
    *, actor: Actor, meta: RequestMeta | None = None, role: Role, force: bool = False
) -> None:
    """Delete ``role``; refused for a built-in role, and while other roles inherit from it,
    unless ``force``."""
    actor.require_fresh_factor()
    if role.builtin:
        raise ValidationError(
            f"role {role.name!r} is built in and cannot be deleted; its permissions can be edited"
        )
    _lock_and_invalidate()
    dependants = sorted(role.children.values_list("name", flat=True))
    if dependants and not force:
        raise ValidationError(
            f"role {role.name!r} is inherited by {', '.join(dependants)}; remove it from their "
            "parents first, or delete with force to detach it from them"
        )
    name = role.name
    role.delete()
    record("role.deleted", actor=actor.audit_name, meta=meta, target=name, force=force)


def _set_assignments(
    model: type[Assignment], owner: dict[str, object], specs: Sequence[AssignmentSpec]
) -> bool:
    _lock_and_invalidate()
    wanted = {s.role: s.expires_at for s in specs}
    roles = {r.name: r for r in rows_named(Role, wanted, "roles")}
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


# --- audited assignment changes (the surfaces') ------------------------------------------------


def _specs(rows: Iterable[Assignment]) -> dict[str, datetime | None]:
    return {row.role.name: row.expires_at for row in rows}


def _guard_role_handed(actor: Actor, name: str) -> None:
    actor.require_covers(access.role_permissions([name]), what=f"Role {name!r}")


def _change_assignment(
    *,
    actor: Actor,
    meta: RequestMeta | None,
    rows: Iterable[Assignment],
    setter: Callable[[Sequence[AssignmentSpec]], bool],
    target: str,
    role: Role,
    expires_at: datetime | None,
    remove: bool,
) -> bool:
    """Add/update (or remove) one assignment among ``rows``; returns whether it was held."""
    actor.require_fresh_factor()
    _guard_role_handed(actor, role.name)
    wanted = _specs(rows)
    existed = role.name in wanted
    if remove:
        if not existed:
            raise access.NotFound("role assignment", role.name)
        del wanted[role.name]
    else:
        wanted[role.name] = expires_at
    if setter([AssignmentSpec(name, expiry) for name, expiry in wanted.items()]):
        record(
            "role.unassigned" if remove else "role.assigned",
            actor=actor.audit_name,
            meta=meta,
            target=target,
            role=role.name,
            expires_at=None if remove or expires_at is None else expires_at.isoformat(),
        )
    return existed


def _user_rows(user: User) -> list[UserRole]:
    return list(UserRole.objects.filter(user=user).select_related("role"))


@transaction.atomic
def user_role_set(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    user: User,
    role: Role,
    expires_at: datetime | None = None,
    remove: bool = False,
) -> bool:
    """Give ``user`` the role (until ``expires_at``), or take it away; returns whether the user
    held it before."""
    return _change_assignment(
        actor=actor,
        meta=meta,
        rows=_user_rows(user),
        setter=lambda specs: user_roles_set(user=user, assignments=specs),
        target=f"user:{user.username}",
        role=role,
        expires_at=expires_at,
        remove=remove,
    )


@transaction.atomic
def client_role_set(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    client: Client,
    role: Role,
    expires_at: datetime | None = None,
    remove: bool = False,
) -> bool:
    """As ``user_role_set``, for what a client may do with its own tokens."""
    rows = ClientRole.objects.filter(client=client).select_related("role")
    return _change_assignment(
        actor=actor,
        meta=meta,
        rows=list(rows),
        setter=lambda specs: client_roles_set(client=client, assignments=specs),
        target=f"client:{client.client_id}",
        role=role,
        expires_at=expires_at,
        remove=remove,
    )


@transaction.atomic
def user_roles_replace(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, roles: Sequence[str]
) -> None:
    """Make ``roles`` the user's directly held roles (kept ones keep their expiry): one
    ``role.assigned``/``role.unassigned`` event per change. The actor must hold every
    permission of each role given or taken away."""
    current = _specs(_user_rows(user))
    added = sorted(set(roles) - set(current))
    removed = sorted(set(current) - set(roles))
    if added or removed:
        actor.require_fresh_factor()
    for name in added + removed:
        _guard_role_handed(actor, name)
    user_roles_set(user=user, assignments=[AssignmentSpec(n, current.get(n)) for n in roles])
    data: dict[str, Any] = {
        "actor": actor.audit_name,
        "meta": meta,
        "target": f"user:{user.username}",
    }
    for name in added:
        record("role.assigned", **data, role=name)
    for name in removed:
        record("role.unassigned", **data, role=name)
