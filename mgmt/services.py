"""Management writes: guard, change, audit, all in one transaction.

The one audited layer over the domain services, called by both the management API
(``mgmt.api``) and the admin console (``console.views``). Each function takes the acting
``Principal`` (the console makes one with ``roles.access.principal_for_user``) and the request
(for the audit row's ip, user agent and request id) keyword-only, applies the hierarchy guard of
``roles.access`` where the change could hand out permissions, calls the domain service
(``accounts``, ``roles``, ``oauth``, ``apikeys``, ``mfa``) and records one audit event. The
transaction covers all three, so an event exists exactly when its change does, and a refused or
failed change leaves nothing behind.

Guards on the object acted on (``roles.access.require_*_write``, or ``access_*`` with
``for_write``) are the caller's, before it calls in here, as for every read.

Every change of privileges here needs a fresh second factor of a caller acting for a person
(``roles.access.require_fresh_factor``, SECURITY 85), checked first, before anything is read or
written: role create, delete and edit (parents, permissions, ``require_mfa``), role assignment,
client create and edit (``PRIVILEGED_CLIENT_FIELDS``), secret rotation, API-key creation,
password and MFA reset, re-enabling a user. ``manage.py apply`` calls the domain services
directly and is not subject to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
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
from accounts.limits import LOGIN_PER_ACCOUNT
from accounts.models import User
from apikeys import services as key_services
from apikeys.models import ApiKey
from audit.services import record
from core import limits
from mfa import services as mfa_services
from oauth import api_services, clienttokens
from oauth import services as client_services
from oauth.models import Api, AuthContext, Client
from roles import access, policy
from roles import services as role_services
from roles.decisions import Principal
from roles.models import Assignment, ClientRole, Role, UserRole
from roles.services import AssignmentSpec

# Client fields whose change is a change of privileges: where codes and tokens may go, how
# the client proves itself and what it may obtain (a name or a logo is not).
PRIVILEGED_CLIENT_FIELDS = frozenset(
    {
        "type",
        "redirect_uris",
        "post_logout_redirect_uris",
        "grant_types",
        "scopes",
        "token_endpoint_auth_method",
        "jwks",
        "jwks_uri",
        "resources",
        "skip_consent",  # tokens without the consent page
        "require_mfa",  # loosening the second-factor rule
        "is_active",  # re-enabling (disabling removes access and is not asked: below)
    }
)


def actor_name(principal: Principal) -> str:
    """How a principal appears in the audit log: a username, or ``client:<client_id>``."""
    return principal.username or f"client:{principal.client_id}"


def _record(event: str, *, actor: Principal, request: HttpRequest | None, **data: Any) -> None:
    record(event, actor=actor_name(actor), request=request, **data)


# --- users ------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: Principal,
    request: HttpRequest | None,
    username: str,
    password: str | None = None,
    email: str = "",
    name: str = "",
) -> User:
    user = account_services.user_create(
        username=username, password=password, email=email, name=name
    )
    _record("user.created", actor=actor, request=request, target=user.username)
    return user


@transaction.atomic
def user_update(
    *, actor: Principal, request: HttpRequest | None, user: User, **fields: str
) -> User:
    """Set ``email``/``name`` (only those: anything privileged is not a parameter here)."""
    changes = {k: v for k, v in fields.items() if k in ("email", "name")}
    if account_services.user_update(user=user, **changes):
        _record(
            "user.updated",
            actor=actor,
            request=request,
            target=user.username,
            fields=sorted(changes),
        )
    return user


@transaction.atomic
def user_delete(*, actor: Principal, request: HttpRequest | None, user: User) -> int:
    """Delete ``user`` (not oneself); returns how many live tokens ended. Irreversible, so it
    needs a fresh second factor."""
    access.require_fresh_factor(actor)
    if actor.username and actor.username == user.username:
        raise ValidationError("You cannot delete your own account.")
    return account_services.user_delete(actor=actor_name(actor), request=request, user=user)


def _end_sessions(user: User) -> None:
    """Revoke every refresh-token family and access token of ``user`` (RFC 9700 §4.14.2)."""
    refresh_model = get_refresh_token_model()
    families = (
        refresh_model.objects.filter(user=user, revoked__isnull=True)
        .exclude(token_family=None)
        .values_list("token_family", flat=True)
        .distinct()
    )
    for family in list(families):
        refresh_model.revoke_family(family)
    for refresh in refresh_model.objects.filter(user=user, revoked__isnull=True):
        refresh.revoke()
    get_access_token_model().objects.filter(user=user).delete()


@transaction.atomic
def user_set_active(
    *, actor: Principal, request: HttpRequest | None, user: User, active: bool
) -> User:
    """Enable or disable ``user``; disabling also ends all of the user's sessions and tokens.
    Re-enabling needs a fresh second factor (disabling, a way out of trouble, does not)."""
    if active and not user.is_active:
        access.require_fresh_factor(actor)
    if account_services.user_update(user=user, is_active=active):
        _record(
            "user.enabled" if active else "user.disabled",
            actor=actor,
            request=request,
            target=user.username,
        )
    if not active:
        _end_sessions(user)
    return user


@transaction.atomic
def user_set_password(
    *, actor: Principal, request: HttpRequest | None, user: User, password: str
) -> None:
    """Set a new password (validated) and end the user's sessions (ASVS 7.4.3)."""
    access.require_fresh_factor(actor)
    account_services.user_update(user=user, password=password)
    _end_sessions(user)
    _record("user.password_set", actor=actor, request=request, target=user.username)


# --- roles ------------------------------------------------------------------------------------


def _canonical(permissions: Sequence[str]) -> list[str]:
    try:
        return sorted({policy.canonical_permission(p) for p in permissions})
    except policy.PolicyError as exc:
        raise ValidationError({"permissions": [str(exc)]}) from None


def _guard_role_shape(
    actor: Principal, name: str, parents: Sequence[str], permissions: Sequence[str]
) -> None:
    """The role as it will be (own plus inherited permissions) must be within the caller's."""
    effective = set(_canonical(permissions)) | access.role_permissions(parents)
    access.require_covers(actor, effective, what=f"Role {name!r}")


@transaction.atomic
def role_create(
    *,
    actor: Principal,
    request: HttpRequest | None,
    name: str,
    description: str = "",
    parents: Sequence[str] = (),
    permissions: Sequence[str] = (),
    require_mfa: bool = False,
) -> Role:
    access.require_fresh_factor(actor)
    _guard_role_shape(actor, name, parents, permissions)
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
        permissions=_canonical(permissions),
        require_mfa=require_mfa,
    )
    return role


@transaction.atomic
def role_update(
    *,
    actor: Principal,
    request: HttpRequest | None,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    parents: Sequence[str] | None = None,
    permissions: Sequence[str] | None = None,
    require_mfa: bool | None = None,
) -> Role:
    """Change ``role``; the caller must hold what it has now (``access_role(for_write=True)``)
    and what it will have. A change of its name (what policies and tokens call it), parents,
    permissions or ``require_mfa`` needs a fresh second factor (its description alone does
    not). A new name is recorded as ``role.renamed``, the rest as ``role.updated``."""
    old_parents = set(role.parents.values_list("name", flat=True))
    old_permissions = set(role.permissions.values_list("value", flat=True))
    new_parents = parents if parents is not None else old_parents
    new_permissions = permissions if permissions is not None else old_permissions
    if (
        set(new_parents) != old_parents
        or set(_canonical(new_permissions)) != old_permissions
        or (require_mfa is not None and require_mfa != role.require_mfa)
        or (name is not None and name != role.name)
    ):
        access.require_fresh_factor(actor)
    _guard_role_shape(actor, name or role.name, list(new_parents), list(new_permissions))
    if name is not None:
        role_services.role_rename(actor=actor_name(actor), request=request, role=role, name=name)
    changed = role_services.role_update(
        role=role,
        description=description,
        parents=parents,
        permissions=permissions,
        require_mfa=require_mfa,
    )
    if changed:
        given = {
            "description": description,
            "parents": parents,
            "permissions": permissions,
            "require_mfa": require_mfa,
        }
        _record(
            "role.updated",
            actor=actor,
            request=request,
            target=role.name,
            fields=sorted(k for k, v in given.items() if v is not None),
        )
    return role


@transaction.atomic
def role_delete(
    *, actor: Principal, request: HttpRequest | None, role: Role, force: bool = False
) -> None:
    access.require_fresh_factor(actor)
    name = role.name
    role_services.role_delete(role=role, force=force)
    _record("role.deleted", actor=actor, request=request, target=name, force=force)


# --- role assignments -------------------------------------------------------------------------


def _specs(rows: Sequence[Assignment]) -> dict[str, datetime | None]:
    return {row.role.name: row.expires_at for row in rows}


def _change_assignment(
    *,
    actor: Principal,
    request: HttpRequest | None,
    rows: Sequence[Assignment],
    setter: Callable[[Sequence[AssignmentSpec]], bool],
    target: str,
    role: Role,
    expires_at: datetime | None,
    remove: bool,
) -> bool:
    """Add/update (or remove) one assignment among ``rows``; returns whether it was new/held."""
    access.require_fresh_factor(actor)
    access.require_covers(actor, access.role_permissions([role.name]), what=f"Role {role.name!r}")
    wanted = _specs(rows)
    existed = role.name in wanted
    if remove:
        if not existed:
            raise access.NotFound("role assignment")
        del wanted[role.name]
    else:
        wanted[role.name] = expires_at
    if setter([AssignmentSpec(name, expiry) for name, expiry in wanted.items()]):
        _record(
            "role.unassigned" if remove else "role.assigned",
            actor=actor,
            request=request,
            target=target,
            role=role.name,
            expires_at=None if remove or expires_at is None else expires_at.isoformat(),
        )
    return existed


def _user_rows(user: User) -> list[UserRole]:
    return list(UserRole.objects.filter(user=user).select_related("role"))


def _client_rows(client: Client) -> list[ClientRole]:
    return list(ClientRole.objects.filter(client=client).select_related("role"))


@transaction.atomic
def user_role_set(
    *,
    actor: Principal,
    request: HttpRequest | None,
    user: User,
    role: Role,
    expires_at: datetime | None = None,
    remove: bool = False,
) -> bool:
    """Give ``user`` the role (until ``expires_at``), or take it away; returns whether the user
    held it before."""
    return _change_assignment(
        actor=actor,
        request=request,
        rows=_user_rows(user),
        setter=lambda specs: role_services.user_roles_set(user=user, assignments=specs),
        target=f"user:{user.username}",
        role=role,
        expires_at=expires_at,
        remove=remove,
    )


@transaction.atomic
def user_roles_replace(
    *, actor: Principal, request: HttpRequest | None, user: User, roles: Sequence[str]
) -> None:
    """Make ``roles`` the user's directly held roles (kept ones keep their expiry): one
    ``role.assigned``/``role.unassigned`` event per change. The caller must hold every
    permission of each role given or taken away."""
    current = _specs(_user_rows(user))
    added = sorted(set(roles) - set(current))
    removed = sorted(set(current) - set(roles))
    if added or removed:
        access.require_fresh_factor(actor)
    for name in added + removed:
        access.require_covers(actor, access.role_permissions([name]), what=f"Role {name!r}")
    specs = [AssignmentSpec(name, current.get(name)) for name in roles]
    role_services.user_roles_set(user=user, assignments=specs)
    target = f"user:{user.username}"
    for name in added:
        _record("role.assigned", actor=actor, request=request, target=target, role=name)
    for name in removed:
        _record("role.unassigned", actor=actor, request=request, target=target, role=name)


@transaction.atomic
def client_role_set(
    *,
    actor: Principal,
    request: HttpRequest | None,
    client: Client,
    role: Role,
    expires_at: datetime | None = None,
    remove: bool = False,
) -> bool:
    """As ``user_role_set``, for what a client may do with its own tokens."""
    return _change_assignment(
        actor=actor,
        request=request,
        rows=_client_rows(client),
        setter=lambda specs: role_services.client_roles_set(client=client, assignments=specs),
        target=f"client:{client.client_id}",
        role=role,
        expires_at=expires_at,
        remove=remove,
    )


# --- clients ----------------------------------------------------------------------------------


@transaction.atomic
def client_create(
    *, actor: Principal, request: HttpRequest | None, spec: dict[str, Any]
) -> tuple[Client, str | None]:
    """Create a client; returns it with its secret, to be shown once (None when it has none)."""
    access.require_fresh_factor(actor)
    client, secret = client_services.client_create(spec=spec)
    _record("client.created", actor=actor, request=request, target=client.client_id)
    return client, secret


@transaction.atomic
def client_update(
    *, actor: Principal, request: HttpRequest | None, client: Client, spec: dict[str, Any]
) -> tuple[Client, str | None]:
    """Update a client; returns it with a new secret when the change made one necessary. A
    change of a ``PRIVILEGED_CLIENT_FIELDS`` value needs a fresh second factor."""
    changed_fields = client_services.spec_changes(client, spec)
    changes = changed_fields & PRIVILEGED_CLIENT_FIELDS
    if changes - {"is_active"} or ("is_active" in changes and spec["is_active"]):
        access.require_fresh_factor(actor)
    changed, secret = client_services.client_update(client=client, spec=spec)
    if changed:
        _record(
            "client.updated",
            actor=actor,
            request=request,
            target=client.client_id,
            fields=sorted(changed_fields),
        )
    return client, secret


@transaction.atomic
def client_rotate_secret(*, actor: Principal, request: HttpRequest | None, client: Client) -> str:
    """A new secret replaces the old one at once; returned here and never again."""
    access.require_fresh_factor(actor)
    if not client.client_secret:
        raise ValidationError("This client does not authenticate with a client secret.")
    secret = client_services.client_rotate_secret(client=client)
    _record("client.secret_rotated", actor=actor, request=request, target=client.client_id)
    return secret


def client_delete(*, actor: Principal, request: HttpRequest | None, client: Client) -> int:
    """Delete ``client``; returns how many live tokens ended (needs a fresh second factor)."""
    access.require_fresh_factor(actor)
    return client_services.client_delete(actor=actor_name(actor), request=request, client=client)


# --- registered APIs --------------------------------------------------------------------------


def api_create(*, actor: Principal, request: HttpRequest | None, spec: dict[str, Any]) -> Api:
    """Register an API (``oauth.api_services`` checks, writes and audits ``api.created``).
    An API names the client that learns about its tokens: a privilege change."""
    access.require_fresh_factor(actor)
    return api_services.api_create(actor=actor_name(actor), request=request, spec=spec)


def api_update(
    *, actor: Principal, request: HttpRequest | None, api: Api, spec: dict[str, Any]
) -> bool:
    """Change an API's fields named in ``spec`` (audited as ``api.updated``)."""
    access.require_fresh_factor(actor)
    return api_services.api_update(actor=actor_name(actor), request=request, api=api, spec=spec)


def api_delete(*, actor: Principal, request: HttpRequest | None, api: Api) -> None:
    """Delete an API nothing uses any more (audited as ``api.deleted``)."""
    access.require_fresh_factor(actor)
    api_services.api_delete(actor=actor_name(actor), request=request, api=api)


# --- tokens and sessions ----------------------------------------------------------------------


@transaction.atomic
def access_token_revoke(
    *, actor: Principal, request: HttpRequest | None, token: AbstractAccessToken
) -> None:
    """Revoke an access token and the refresh token bound to it (RFC 7009 §2.1)."""
    client_id = token.application.client_id
    target = f"user:{token.user.username}" if token.user else f"client:{client_id}"
    data = {"access_id": token.pk, "client_id": client_id}
    revoke_access_token(token)
    _record("token.revoked", actor=actor, request=request, target=target, **data)


def client_token_revoke(
    *,
    actor: Principal,
    request: HttpRequest | None,
    jti: str,
    client_id: str,
    expires: datetime,
) -> None:
    """Revoke a client-credentials access token by its ``jti`` (it has no row to delete)."""
    if clienttokens.revoke_jti(jti, client_id, expires):
        _record(
            "token.revoked",
            actor=actor,
            request=request,
            target=f"client:{client_id}",
            jti=jti,
            client_id=client_id,
        )


@transaction.atomic
def session_revoke(
    *, actor: Principal, request: HttpRequest | None, user: User, family: uuid.UUID
) -> None:
    """End a sign-in session: its whole refresh-token family and the access tokens from it
    (with the first one, issued with the code, when the sign-in context is known)."""
    get_refresh_token_model().revoke_family(family)
    context = AuthContext.objects.filter(token_family=family).select_related("client").first()
    data = {"family": str(family)}
    if context is not None:
        get_access_token_model().objects.filter(pk=context.first_access_token_id).delete()
        data.update(session_id=str(context.pk), client_id=context.client.client_id)
    _record("session.revoked", actor=actor, request=request, target=f"user:{user.username}", **data)


# --- API keys ---------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(
    *,
    actor: Principal,
    request: HttpRequest | None,
    owner: dict[str, Any],
    name: str,
    roles: Sequence[str] = (),
    **spec: Any,
) -> tuple[ApiKey, str]:
    """A key for ``owner`` (``{"user": ...}`` or ``{"client": ...}``, already guarded by the
    caller); its roles must be within the caller's permissions. Returns the key and the full
    secret, to be shown once (``apikeys.services`` audits ``api_key.created``). A key is a
    credential with roles: creating one needs a fresh second factor."""
    access.require_fresh_factor(actor)
    access.require_covers(actor, access.role_permissions(roles), what="The key's roles")
    return key_services.api_key_create(
        **owner, name=name, roles=roles, **spec, actor=actor_name(actor), request=request
    )


def api_key_revoke(*, actor: Principal, request: HttpRequest | None, key: ApiKey, via: str) -> bool:
    """Revoke ``key`` (guarded through its owner by the caller); False if it already was."""
    return key_services.api_key_revoke(key=key, actor=actor_name(actor), via=via, request=request)


# --- second factors and lockouts --------------------------------------------------------------


@transaction.atomic
def user_mfa_reset(*, actor: Principal, request: HttpRequest | None, user: User) -> list[str]:
    """Remove every second factor of ``user`` (authenticator app, passkeys, recovery codes);
    their next sign-in enrols a new one if MFA is required of them. Returns what was removed."""
    access.require_fresh_factor(actor)
    removed = mfa_services.authenticators_reset(user=user)
    if removed:
        _record("mfa.reset", actor=actor, request=request, target=user.username, factors=removed)
    return removed


@transaction.atomic
def user_unlock(*, actor: Principal, request: HttpRequest | None, user: User) -> list[str]:
    """Lift the second-factor lockout and the password sign-in block of ``user``; returns
    which locks were lifted (``mfa``, ``login``), an event only if one was. Unlocking lets
    guessing start again, so it needs a fresh second factor like a reset."""
    access.require_fresh_factor(actor)
    lifted = []
    if mfa_services.lockout_remaining(user=user):
        lifted.append("mfa")
    mfa_services.lockout_reset(user=user)
    if limits.retry_after((LOGIN_PER_ACCOUNT, user.username)):
        lifted.append("login")
    limits.reset(LOGIN_PER_ACCOUNT, user.username)
    if lifted:
        _record("user.unlocked", actor=actor, request=request, target=user.username, locks=lifted)
    return lifted
