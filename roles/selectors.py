"""Reads of roles, served from a per-process cache invalidated by the ``roles`` generation.

What is cached (``ProcessCache("roles")``, emptied on every change made by ``roles.services``):
- the role graph (one load of roles, parent links and permissions);
- per subject, its assignments *with their expiry times*; the "now" filter runs on every read,
  so an expiring assignment stops counting at its expiry without any write, and no cached value
  outlives an expiry it depends on;
- per set of held roles, the resolved ``policy.Grant`` (effective roles, compiled rules);
- the group graph (groups, their parents and roles) and, per user, the groups they are a
  member of: a user's held roles are their direct assignments plus the roles of their groups
  and of the groups' ancestors (``roles.group_services`` bumps the same generation).
On a warm cache, resolving a subject costs dictionary lookups and no query beyond the
once-per-request generation read.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from core import clock
from core.generations import ProcessCache
from oauth.models import Client
from oauth.selectors import client_get
from roles import policy
from roles.models import Assignment, ClientRole, Group, Permission, Role, UserRole

_cache = ProcessCache("roles")


class Held(NamedTuple):
    """A subject's directly held roles: those without an expiry, and (name, UNIX time) pairs."""

    permanent: frozenset[str]
    expiring: tuple[tuple[str, float], ...]


def role_graph() -> policy.RoleGraph:
    return _cache.get("graph", _load_graph)


def _load_graph() -> policy.RoleGraph:
    rows = list(Role.objects.values_list("id", "name", "require_mfa"))
    names = {role_id: name for role_id, name, _ in rows}
    parents: dict[int, list[str]] = {}
    for child_id, parent_id in Role.parents.through.objects.values_list(
        "from_role_id", "to_role_id"
    ):
        parents.setdefault(child_id, []).append(names[parent_id])
    permissions: dict[int, set[str]] = {}
    for role_id, value in Permission.objects.values_list("role_id", "value"):
        permissions.setdefault(role_id, set()).add(value)
    return policy.RoleGraph.of(
        policy.Role(
            name=name,
            parents=tuple(sorted(parents.get(role_id, ()))),
            permissions=frozenset(permissions.get(role_id, ())),
            require_mfa=require_mfa,
        )
        for role_id, name, require_mfa in rows
    )


def group_graph() -> policy.GroupGraph:
    return _cache.get("groups", _load_groups)


def _load_groups() -> policy.GroupGraph:
    names = dict(Group.objects.values_list("id", "name"))
    parents: dict[int, list[str]] = {}
    for child_id, parent_id in Group.parents.through.objects.values_list(
        "from_group_id", "to_group_id"
    ):
        parents.setdefault(child_id, []).append(names[parent_id])
    roles: dict[int, set[str]] = {}
    for group_id, role in Group.roles.through.objects.values_list("group_id", "role__name"):
        roles.setdefault(group_id, set()).add(role)
    return policy.GroupGraph.of(
        policy.Group(
            name=name,
            parents=tuple(sorted(parents.get(group_id, ()))),
            roles=frozenset(roles.get(group_id, ())),
        )
        for group_id, name in names.items()
    )


def user_groups(user_id: int) -> frozenset[str]:
    """The names of the groups the user is a member of directly (cached)."""
    return _cache.get(
        ("member-of", user_id),
        lambda: frozenset(
            Group.members.through.objects.filter(user_id=user_id).values_list(
                "group__name", flat=True
            )
        ),
    )


def _held(key: Hashable, model: type[Assignment], **owner: object) -> Held:
    def load() -> Held:
        rows = list(model.objects.filter(**owner).values_list("role__name", "expires_at"))
        return Held(
            frozenset(name for name, expires in rows if expires is None),
            tuple((name, expires.timestamp()) for name, expires in rows if expires is not None),
        )

    return _cache.get(key, load)


def _user_held(pk: int) -> Held:
    """A user's direct assignments plus, as permanent, the roles their groups give."""

    def load() -> Held:
        direct = _held(("direct", pk), UserRole, user_id=pk)
        given = policy.group_roles(group_graph(), user_groups(pk))
        return Held(direct.permanent | given, direct.expiring) if given else direct

    return _cache.get(("user", pk), load)


def expired_since(moment: float) -> bool:
    """Whether a role assignment has expired between ``moment`` (UNIX time) and now: a grant
    resolved at ``moment`` may no longer hold (answers cached elsewhere ask this)."""
    expiries = _cache.get("expiries", _load_expiries)
    if not expiries:
        return False
    following = bisect.bisect_right(expiries, moment)
    return following < len(expiries) and expiries[following] <= clock.now()


# Every concrete ``Assignment`` model; other apps add theirs (apikeys: a key's own roles).
assignment_models: list[type[Assignment]] = [UserRole, ClientRole]


def _load_expiries() -> tuple[float, ...]:
    """Every assignment's expiry, sorted."""
    moments = [
        expires.timestamp()
        for model in assignment_models
        for expires in model.objects.filter(expires_at__isnull=False).values_list(
            "expires_at", flat=True
        )
    ]
    return tuple(sorted(moments))


def grant_for_roles(role_names: frozenset[str]) -> policy.Grant:
    """The resolved grant of a set of directly held roles (cached per set)."""
    return _cache.get(("grant", role_names), lambda: policy.resolve(role_graph(), role_names))


def _grant(held: Held) -> policy.Grant:
    active = held.permanent
    if held.expiring:
        moment = clock.now()
        active = active | {name for name, expires in held.expiring if expires > moment}
    return grant_for_roles(active) if active else policy.NO_GRANT


def user_grant(user_id: object) -> policy.Grant:
    """What the user with primary key ``user_id`` may do (assignments active now)."""
    if isinstance(user_id, int):
        pk = user_id  # already a primary key (the callers on hot paths pass one)
    else:
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return policy.NO_GRANT
    return _grant(_user_held(pk))


def client_grant(client: Client) -> policy.Grant:
    """What ``client`` may do on its own behalf (client-credentials tokens, AuthZEN callers)."""
    return _grant(_held(("client", client.pk), ClientRole, client_id=client.pk))


def client_grant_by_id(client_id: str) -> policy.Grant | None:
    """The grant of the active client ``client_id``, or None when there is no such client."""
    client = client_get(client_id)
    if client is None or not client.is_active:
        return None
    return client_grant(client)


def user_roles(user: object) -> list[str]:
    """The user's effective roles (inherited included), sorted: the ``roles`` claim."""
    return sorted(user_grant(user.pk).roles)


def user_role_sources(user_id: int) -> dict[str, tuple[policy.RoleSource, ...]]:
    """Each effective role of the user with where it comes from (direct assignments active
    now, groups, parent groups, role inheritance): the console's user page."""
    direct = _held(("direct", user_id), UserRole, user_id=user_id)
    moment = clock.now()
    active = direct.permanent | {name for name, expires in direct.expiring if expires > moment}
    return policy.role_sources(role_graph(), group_graph(), active, user_groups(user_id))


def user_requires_mfa(user: object) -> bool:
    """Whether the user holds (directly or by inheritance) a role with ``require_mfa``."""
    return user_grant(user.pk).require_mfa
