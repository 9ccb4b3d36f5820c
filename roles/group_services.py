"""Writes to groups (issue 20): the group, its parents, its roles and its members, each with
its audit event in the same transaction.

As in ``roles.services``: every service takes the acting ``core.actors.Actor`` and the
request's ``RequestMeta`` keyword-only, starts by bumping the ``roles`` generation (every
process's cached resolution is dropped, and concurrent writers of roles and groups are
serialised, so two transactions cannot each add half of a cycle), and a change of privileges
needs the actor's fresh second factor, checked before anything is read or written. The
hierarchy guard: whoever changes what a group gives, or who gets it, must hold every
permission involved (the group's roles and those of its parent groups), so nobody hands out
through a group what they could not hand out directly.

Events: ``group.created``, ``group.updated``, ``group.deleted``, ``group.roles_set``,
``group.member_added`` and ``group.member_removed`` (one per member, target ``user:<name>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record
from core import generations
from core.actors import Actor
from core.request_meta import RequestMeta
from roles import access
from roles import services as role_services
from roles.models import Group, Role, UserRole
from roles.services import check_acyclic, rows_named


def _lock_and_invalidate() -> None:
    generations.bump("roles")


def _guard(actor: Actor, name: str, roles: Iterable[str], parents: Iterable[str] = ()) -> None:
    """The roles given (and those of ``parents``, with their ancestors) are within the actor's
    permissions."""
    held = access.role_permissions(roles) | access.group_permissions(parents)
    actor.require_covers(held, what=f"Group {name!r}")


def _role_names(group: Group) -> set[str]:
    return set(group.roles.values_list("name", flat=True))


@transaction.atomic
def group_create(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    name: str,
    description: str = "",
    parents: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> Group:
    actor.require_fresh_factor()
    _guard(actor, name, roles, parents)
    _lock_and_invalidate()
    parent_groups = rows_named(Group, parents, "parents")
    given = rows_named(Role, roles, "roles")
    group = Group(name=name, description=description)
    group.full_clean()
    group.save()
    group.parents.set(parent_groups)
    group.roles.set(given)
    record(
        "group.created",
        actor=actor.audit_name,
        meta=meta,
        target=group.name,
        parents=sorted(p.name for p in parent_groups),
        roles=sorted(r.name for r in given),
    )
    return group


@transaction.atomic
def group_update(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    group: Group,
    name: str | None = None,
    description: str | None = None,
    parents: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
) -> bool:
    """Set the fields given (a list replaces the stored one; ``roles`` is ``group_roles_set``'s,
    audited ``group.roles_set``, the rest ``group.updated``); returns whether it changed. New
    parents give the members their roles, so a change of parents needs a fresh second factor
    and the actor must hold what the parents give; a new name or description does not (tokens
    carry roles, not group names)."""
    old_parents = set(group.parents.values_list("name", flat=True))
    if parents is not None and set(parents) != old_parents:
        actor.require_fresh_factor()
        _guard(actor, name or group.name, (), set(parents) - old_parents)
    _lock_and_invalidate()
    fields = []
    previous = group.name
    for field, value in (("name", name), ("description", description)):
        if value is not None and getattr(group, field) != value:
            setattr(group, field, value)
            fields.append(field)
    if fields:
        if name is not None and Group.objects.filter(name=name).exclude(pk=group.pk).exists():
            raise ValidationError({"name": [f"a group named {name!r} already exists"]})
        group.full_clean(validate_unique=False)
        group.save()
    if parents is not None and set(parents) != old_parents:
        parent_groups = rows_named(Group, parents, "parents")
        check_acyclic(group, parent_groups)
        group.parents.set(parent_groups)
        fields.append("parents")
    if fields:
        extra = {"previous": previous} if "name" in fields else {}
        record(
            "group.updated",
            actor=actor.audit_name,
            meta=meta,
            target=group.name,
            fields=sorted(fields),
            **extra,
        )
    if roles is not None and group_roles_set(actor=actor, meta=meta, group=group, roles=roles):
        fields.append("roles")
    return bool(fields)


@transaction.atomic
def group_roles_set(
    *, actor: Actor, meta: RequestMeta | None = None, group: Group, roles: Sequence[str]
) -> bool:
    """Make ``roles`` the roles the group gives; the actor must hold every permission of each
    role given or taken away. Returns whether it changed (``group.roles_set``)."""
    current = _role_names(group)
    added, removed = sorted(set(roles) - current), sorted(current - set(roles))
    if not added and not removed:
        return False
    actor.require_fresh_factor()
    _guard(actor, group.name, [*added, *removed])
    _lock_and_invalidate()
    group.roles.set(rows_named(Role, roles, "roles"))
    record(
        "group.roles_set",
        actor=actor.audit_name,
        meta=meta,
        target=group.name,
        roles=sorted(set(roles)),
        added=added,
        removed=removed,
    )
    return True


def guard_membership(actor: Actor, group: Group) -> None:
    """The guard of every membership change (and of an invitation into ``group``): a fresh
    second factor and every permission the group gives."""
    actor.require_fresh_factor()
    actor.require_covers(access.group_permissions([group.name]), what=f"Group {group.name!r}")


def _record_membership(
    actor: Actor, meta: RequestMeta | None, group: Group, user: User, *, added: bool
) -> None:
    record(
        "group.member_added" if added else "group.member_removed",
        actor=actor.audit_name,
        meta=meta,
        target=f"user:{user.username}",
        group=group.name,
    )


@transaction.atomic
def group_member_add(
    *, actor: Actor, meta: RequestMeta | None = None, group: Group, user: User
) -> bool:
    """Make ``user`` a member of ``group``; returns whether they were one already."""
    guard_membership(actor, group)
    _lock_and_invalidate()
    if group.members.filter(pk=user.pk).exists():
        return True
    group.members.add(user)
    _record_membership(actor, meta, group, user, added=True)
    return False


@transaction.atomic
def group_member_remove(
    *, actor: Actor, meta: RequestMeta | None = None, group: Group, user: User
) -> None:
    """End ``user``'s membership of ``group`` (``NotFound`` when there is none)."""
    guard_membership(actor, group)
    _lock_and_invalidate()
    if not group.members.filter(pk=user.pk).exists():
        raise access.NotFound("group member", user.username)
    group.members.remove(user)
    _record_membership(actor, meta, group, user, added=False)


@transaction.atomic
def group_members_set(
    *, actor: Actor, meta: RequestMeta | None = None, group: Group, usernames: Sequence[str]
) -> bool:
    """Make ``usernames`` the group's members (``apply``'s ``members``): one event per change."""
    current = {u.username: u for u in group.members.all()}
    wanted = {u.username: u for u in rows_named(User, usernames, "members", key="username")}
    if set(current) == set(wanted):
        return False
    guard_membership(actor, group)
    _lock_and_invalidate()
    for username in sorted(set(current) - set(wanted)):
        group.members.remove(current[username])
        _record_membership(actor, meta, group, current[username], added=False)
    for username in sorted(set(wanted) - set(current)):
        group.members.add(wanted[username])
        _record_membership(actor, meta, group, wanted[username], added=True)
    return True


@transaction.atomic
def user_groups_set(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, groups: Sequence[str]
) -> bool:
    """Make ``groups`` the groups ``user`` is a member of (``apply``'s ``groups`` on a user,
    the console's user page): one event per change; the actor must hold what each group
    joined or left gives."""
    current = {g.name: g for g in user.member_groups.all()}
    wanted = {g.name: g for g in rows_named(Group, groups, "groups")}
    if set(current) == set(wanted):
        return False
    changed = sorted(set(current) ^ set(wanted))
    for name in changed:
        guard_membership(actor, current.get(name) or wanted[name])
    _lock_and_invalidate()
    for name in changed:
        joined = name in wanted
        group = wanted[name] if joined else current[name]
        (group.members.add if joined else group.members.remove)(user)
        _record_membership(actor, meta, group, user, added=joined)
    return True


@transaction.atomic
def group_delete(*, actor: Actor, meta: RequestMeta | None = None, group: Group) -> None:
    """Delete ``group``: its members lose what it gave them, and the groups inside it lose it
    as a parent (their own roles and members stay)."""
    guard_membership(actor, group)
    _lock_and_invalidate()
    name = group.name
    members = group.members.count()
    children = sorted(group.children.values_list("name", flat=True))
    group.delete()
    record(
        "group.deleted",
        actor=actor.audit_name,
        meta=meta,
        target=name,
        members=members,
        children=children,
    )


def upstream_access_set(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    user: User,
    roles: Mapping[str, bool],
    groups: Mapping[str, bool],
) -> None:
    """What an upstream (an identity provider's claims, a directory's groups) says onto
    ``user``: each role in ``roles`` held directly iff its value is true, each group in
    ``groups`` joined iff true. Roles and groups it does not name, and names not defined here,
    are left alone; an expired assignment counts as not held. Each change is the service's
    own (its audit event, its guard)."""
    now = timezone.now()
    held = {
        row.role.name
        for row in UserRole.objects.filter(user=user, role__name__in=roles).select_related("role")
        if row.expires_at is None or row.expires_at > now
    }
    for role in Role.objects.filter(name__in=roles).order_by("name"):
        if roles[role.name] != (role.name in held):
            role_services.user_role_set(
                actor=actor, meta=meta, user=user, role=role, remove=not roles[role.name]
            )
    member_of = set(user.member_groups.filter(name__in=groups).values_list("name", flat=True))
    for group in Group.objects.filter(name__in=groups).order_by("name"):
        if groups[group.name] and group.name not in member_of:
            group_member_add(actor=actor, meta=meta, group=group, user=user)
        elif not groups[group.name] and group.name in member_of:
            group_member_remove(actor=actor, meta=meta, group=group, user=user)
