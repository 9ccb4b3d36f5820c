"""Console writes: guard, change and audit in one transaction.

Each function takes the acting user and the request (for the audit row's ip, user agent and
request id) keyword-only, calls the domain service (``accounts``, ``roles``, ``oauth``) and
records one audit event per change with ``audit.services.record``. The transaction covers both,
so an event exists exactly when its change does. Event names match the management API's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from oauth2_provider.models import (
    AbstractAccessToken,
    get_access_token_model,
    get_refresh_token_model,
    revoke_access_token,
)

from accounts import services as account_services
from accounts.models import User
from audit.services import record
from console.access import require_covers
from oauth import services as client_services
from oauth.models import Client
from roles import policy, selectors
from roles import services as role_services
from roles.models import Role, UserRole
from roles.services import AssignmentSpec


def _record(event: str, *, actor: User, request: HttpRequest, **data: Any) -> None:
    record(event, actor=actor.get_username(), request=request, **data)


def _role_permissions(names: Sequence[str]) -> frozenset[str]:
    return policy.effective_permissions(selectors.role_graph(), names)


def _guard_user(actor: User, user: User) -> None:
    """Acting on an account (its password, status, roles) needs every permission it holds:
    otherwise resetting a stronger admin's password would be a way up."""
    held = selectors.user_grant(user.pk).permissions.strings
    require_covers(actor.pk, held, what=f"User {user.username!r}")


def _guard_client(actor: User, client: Client) -> None:
    """Changing a client or its secret needs every permission the client holds itself."""
    held = selectors.client_grant(client).permissions.strings
    require_covers(actor.pk, held, what=f"Client {client.client_id!r}")


# --- users ------------------------------------------------------------------------------------


@transaction.atomic
def user_create(*, actor: User, request: HttpRequest, username: str, **fields: Any) -> User:
    user = account_services.user_create(username=username, **fields)
    _record("user.created", actor=actor, request=request, target=user.username)
    return user


def _end_sessions(user: User) -> None:
    """Revoke every refresh-token family and access token of ``user`` (RFC 9700 §4.14.2)."""
    refresh_model = get_refresh_token_model()
    families = set(
        refresh_model.objects.filter(user=user, revoked__isnull=True)
        .exclude(token_family=None)
        .values_list("token_family", flat=True)
    )
    for family in families:
        refresh_model.revoke_family(family)
    for refresh in refresh_model.objects.filter(user=user, revoked__isnull=True):
        refresh.revoke()
    get_access_token_model().objects.filter(user=user).delete()


@transaction.atomic
def user_set_active(*, actor: User, request: HttpRequest, user: User, active: bool) -> None:
    """Enable or disable ``user``; disabling also ends all of the user's sessions and tokens."""
    _guard_user(actor, user)
    if account_services.user_update(user=user, is_active=active):
        event = "user.enabled" if active else "user.disabled"
        _record(event, actor=actor, request=request, target=user.username)
    if not active:
        _end_sessions(user)


@transaction.atomic
def user_set_password(*, actor: User, request: HttpRequest, user: User, password: str) -> None:
    """Set a new password (validated) and end the user's sessions (ASVS 7.4.3)."""
    _guard_user(actor, user)
    account_services.user_update(user=user, password=password)
    _end_sessions(user)
    _record("user.password_set", actor=actor, request=request, target=user.username)


@transaction.atomic
def user_roles_set(*, actor: User, request: HttpRequest, user: User, roles: Sequence[str]) -> None:
    """Make ``roles`` the user's directly held roles (kept ones keep their expiry).

    The actor must hold every permission of the user and of each role given or taken away.
    """
    _guard_user(actor, user)
    current = {
        a.role.name: a.expires_at for a in UserRole.objects.filter(user=user).select_related("role")
    }
    added = sorted(set(roles) - set(current))
    removed = sorted(set(current) - set(roles))
    for name in added + removed:
        require_covers(actor.pk, _role_permissions([name]), what=f"Role {name!r}")
    specs = [AssignmentSpec(name, current.get(name)) for name in roles]
    role_services.user_roles_set(user=user, assignments=specs)
    target = f"user:{user.username}"
    for name in added:
        _record("role.assigned", actor=actor, request=request, target=target, role=name)
    for name in removed:
        _record("role.unassigned", actor=actor, request=request, target=target, role=name)


# --- roles ------------------------------------------------------------------------------------


def _guard_role(actor: User, name: str, parents: Sequence[str], permissions: Sequence[str]) -> None:
    """The role as it will be (own plus inherited permissions) must be within the actor's.

    Runs before the domain service writes (and bumps the roles generation), so a refused
    change never loads a graph that is then rolled back.
    """
    try:
        canonical = {policy.canonical_permission(p) for p in permissions}
    except policy.PolicyError as exc:
        raise ValidationError({"permissions": [str(exc)]}) from None
    effective = canonical | _role_permissions(parents)
    require_covers(actor.pk, effective, what=f"Role {name!r}")


@transaction.atomic
def role_create(
    *,
    actor: User,
    request: HttpRequest,
    name: str,
    description: str,
    parents: Sequence[str],
    permissions: Sequence[str],
    require_mfa: bool,
) -> Role:
    _guard_role(actor, name, parents, permissions)
    role = role_services.role_create(
        name=name,
        description=description,
        parents=parents,
        permissions=permissions,
        require_mfa=require_mfa,
    )
    _record(
        "role.created",
        actor=actor,
        request=request,
        target=role.name,
        parents=sorted(parents),
        permissions=sorted(permissions),
    )
    return role


@transaction.atomic
def role_update(
    *,
    actor: User,
    request: HttpRequest,
    role: Role,
    description: str,
    parents: Sequence[str],
    permissions: Sequence[str],
    require_mfa: bool,
) -> None:
    """Change ``role``; the actor must hold what it grants now and what it will grant."""
    require_covers(actor.pk, _role_permissions([role.name]), what=f"Role {role.name!r}")
    _guard_role(actor, role.name, parents, permissions)
    changed = role_services.role_update(
        role=role,
        description=description,
        parents=parents,
        permissions=permissions,
        require_mfa=require_mfa,
    )
    if changed:
        _record(
            "role.updated",
            actor=actor,
            request=request,
            target=role.name,
            parents=sorted(parents),
            permissions=sorted(permissions),
        )


@transaction.atomic
def role_delete(*, actor: User, request: HttpRequest, role: Role) -> None:
    """Delete ``role``; refused (``ValidationError``) while other roles inherit from it."""
    require_covers(actor.pk, _role_permissions([role.name]), what=f"Role {role.name!r}")
    name = role.name
    role_services.role_delete(role=role)
    _record("role.deleted", actor=actor, request=request, target=name)


# --- clients ----------------------------------------------------------------------------------


@transaction.atomic
def client_create(
    *, actor: User, request: HttpRequest, spec: dict[str, Any]
) -> tuple[Client, str | None]:
    """Create a client; returns it with its secret, to be shown once (None when it has none)."""
    client, secret = client_services.client_create(spec=spec)
    _record("client.created", actor=actor, request=request, target=client.client_id)
    return client, secret


@transaction.atomic
def client_update(
    *, actor: User, request: HttpRequest, client: Client, spec: dict[str, Any]
) -> str | None:
    """Update a client; returns a new secret when the change made one necessary."""
    _guard_client(actor, client)
    changed, secret = client_services.client_update(client=client, spec=spec)
    if changed:
        fields = sorted(spec)
        _record(
            "client.updated", actor=actor, request=request, target=client.client_id, fields=fields
        )
    return secret


@transaction.atomic
def client_rotate_secret(*, actor: User, request: HttpRequest, client: Client) -> str:
    """A new secret replaces the old one at once; returned here and never again."""
    _guard_client(actor, client)
    secret = client_services.client_rotate_secret(client=client)
    _record("client.secret_rotated", actor=actor, request=request, target=client.client_id)
    return secret


# --- tokens and sessions ----------------------------------------------------------------------


@transaction.atomic
def access_token_revoke(*, actor: User, request: HttpRequest, token: AbstractAccessToken) -> None:
    """Revoke an access token and the refresh token bound to it (RFC 7009 §2.1)."""
    target = (
        f"user:{token.user.username}" if token.user else f"client:{token.application.client_id}"
    )
    data = {"access_id": token.pk}
    client_id = token.application.client_id
    revoke_access_token(token)
    _record(
        "token.revoked", actor=actor, request=request, target=target, client_id=client_id, **data
    )


@transaction.atomic
def session_revoke(*, actor: User, request: HttpRequest, family: uuid.UUID, user: User) -> None:
    """End a session: its whole refresh-token family and every access token issued from it."""
    get_refresh_token_model().revoke_family(family)
    target = f"user:{user.username}"
    _record("session.revoked", actor=actor, request=request, target=target, family=str(family))
