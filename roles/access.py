"""The one choke point for management authorisation (Zulip's ``access_*_by_id`` style).

Who may do what is decided here and nowhere else:
- ``require_permission(principal, perm)``: the caller holds the named permission through its
  roles (a user token: the user's effective permissions; a client's own token: the client's).
  No superuser shortcut: Django's ``is_superuser``/``is_staff`` flags mean nothing here.
- ``require_covers(principal, permissions)``: the hierarchy guard. A caller may only hand out,
  create, change or take away what it holds itself, so a role manager cannot grant a role above
  its own level, give itself more, or act on someone who outranks it. The one exception is
  ``roles:define`` (held by the built-in ``superadmin``): the right to put a permission nobody
  holds yet (``wiki:admin`` of a new application) on a role. Whoever may define any permission
  could give it to themselves, so the guard passes every check of such a caller rather than
  pretend otherwise; the fresh-factor rule still applies.
- ``access_user`` / ``access_role`` / ``access_group`` / ``access_client``: fetch one object
  for the caller. A missing object raises ``NotFound`` (the same for every caller);
  ``for_write`` also applies the hierarchy guard to what the object holds.
- ``require_fresh_factor(principal)``: a caller acting for a person proved a second factor
  within ``CONSOLE_REAUTH_SECONDS`` (SECURITY 49, 85). The domain services that change
  privileges call it through the ``core.actors.Actor`` they are given (``acting(principal)``),
  so every surface gets it; a service principal (a client's own
  token or key) has no person to ask and stays bounded by its roles and the hierarchy guard.

Callers resolve the principal first (``roles.decisions.principal_for_token``); errors are typed
data that the API maps to problem details in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from core import clock
from oauth.models import Client
from roles import policy, selectors
from roles.decisions import Principal
from roles.models import Group, Role

# Named permissions of the management API (issue 7).
USERS_READ = "users:read"
USERS_WRITE = "users:write"
ROLES_READ = "roles:read"
ROLES_WRITE = "roles:write"
CLIENTS_READ = "clients:read"
CLIENTS_WRITE = "clients:write"
TOKENS_READ = "tokens:read"
TOKENS_WRITE = "tokens:write"
AUDIT_READ = "audit:read"
SECURITY_READ = "security:read"  # IP blocks of the abuse response
SECURITY_WRITE = "security:write"
ROLES_DEFINE = "roles:define"  # put permissions the caller does not hold on roles
GROUPS_READ = "groups:read"  # groups, their members and roles (issue 20)
GROUPS_WRITE = "groups:write"
MANAGEMENT_PERMISSIONS = (
    USERS_READ,
    USERS_WRITE,
    ROLES_READ,
    ROLES_WRITE,
    GROUPS_READ,
    GROUPS_WRITE,
    CLIENTS_READ,
    CLIENTS_WRITE,
    TOKENS_READ,
    TOKENS_WRITE,
    AUDIT_READ,
    SECURITY_READ,
    SECURITY_WRITE,
)
# The configuration file (``manage.py export`` / ``apply``) in the console: exporting shows
# every user, role, client, API and API key, so it takes reading each of them; importing may
# change each of them, so it takes writing each of them.
CONFIG_EXPORT = (USERS_READ, ROLES_READ, GROUPS_READ, CLIENTS_READ, TOKENS_READ)
CONFIG_IMPORT = (USERS_WRITE, ROLES_WRITE, GROUPS_WRITE, CLIENTS_WRITE, TOKENS_WRITE)


class AccessError(Exception):
    """Base of the access decisions below; the message is safe to show to the caller."""


class PermissionMissing(AccessError):
    def __init__(self, permission: str) -> None:
        super().__init__(f"This operation needs the {permission} permission.")
        self.permission = permission


class EscalationDenied(AccessError):
    """The change would give (or take from) someone permissions the caller does not hold."""

    def __init__(self, what: str, missing: Iterable[str]) -> None:
        self.missing = sorted(missing)
        super().__init__(
            f"{what} carries permissions you do not hold yourself: {', '.join(self.missing)}."
        )


class NotFound(AccessError):
    """No ``kind`` (``"client"``, ``"API key"``) is known by ``key``, the id the caller named:
    the message says which ("Client 'abc' not found.")."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind[:1].upper()}{kind[1:]} '{key}' not found.")
        self.kind = kind
        self.key = key


class SelfDeletion(AccessError):
    """Deleting the account or client the caller acts as would cut its own request off."""

    def __init__(self, kind: str, key: str) -> None:
        if kind == "user":
            super().__init__("You cannot delete your own account.")
        else:
            super().__init__(f"You cannot delete the {kind} you are acting as ({key!r}).")


class ReauthenticationRequired(Exception):
    """A privilege change by a caller acting for a person whose second factor is not fresh.

    Not an ``AccessError``: the surfaces do not show it as a refusal but ask for the factor
    (the console's re-authentication page; the management API's 403 problem
    ``reauthentication_required``)."""

    def __init__(self, proved: bool) -> None:
        minutes = max(1, settings.CONSOLE_REAUTH_SECONDS // 60)
        if proved:
            what = f"Your second factor was proved more than {minutes} min ago"
        else:
            what = "This credential shows no second factor (an API key never does)"
        super().__init__(
            f"{what}: this change needs one proved within the last {minutes} min. Sign in "
            "again with your second factor (a new token) and retry."
        )


def factor_fresh(principal: Principal) -> bool:
    """Whether ``principal`` may change privileges as far as second factors go: it acts for a
    service, or its person proved a second factor within ``CONSOLE_REAUTH_SECONDS``."""
    if not principal.acts_for_person:
        return True
    proved = principal.factor_time
    return proved is not None and clock.now() - proved <= settings.CONSOLE_REAUTH_SECONDS


def require_fresh_factor(principal: Principal) -> None:
    if not factor_fresh(principal):
        raise ReauthenticationRequired(principal.factor_time is not None)


def require_permission(principal: Principal, permission: str) -> None:
    if not principal.grant.allows(permission, None, None):
        raise PermissionMissing(permission)


def require_covers(principal: Principal, permissions: Iterable[str], *, what: str) -> None:
    """Raise ``EscalationDenied`` unless the caller holds every one of ``permissions``:
    a named permission as such, an endpoint rule within one of its own (``policy.covers``).
    A caller holding ``ROLES_DEFINE`` passes (the module's docstring says why)."""
    if principal.grant.allows(ROLES_DEFINE, None, None):
        return
    held = principal.grant.permissions
    missing = {p for p in permissions if not policy.covers(held, p)}
    if missing:
        raise EscalationDenied(what, missing)


@dataclass(frozen=True)
class Acting:
    """A principal as the ``core.actors.Actor`` the domain services take: named in the audit
    log as ``Principal.audit_name``, guarded by ``require_fresh_factor`` and ``require_covers``."""

    principal: Principal

    @property
    def audit_name(self) -> str:
        return self.principal.audit_name

    def require_fresh_factor(self) -> None:
        require_fresh_factor(self.principal)

    def require_covers(self, permissions: Iterable[str], *, what: str) -> None:
        require_covers(self.principal, permissions, what=what)


def acting(principal: Principal) -> Acting:
    """What a surface passes as ``actor=`` to a domain service for its caller."""
    return Acting(principal)


def role_permissions(role_names: Iterable[str]) -> frozenset[str]:
    """Effective permissions (own and inherited) of holding ``role_names``."""
    return policy.effective_permissions(selectors.role_graph(), role_names)


def principal_for_user(user: AbstractBaseUser, *, factor_time: float | None = None) -> Principal:
    """A signed-in user (the console's session) as a principal: what its roles allow now, and
    when the session last proved a second factor."""
    grant = selectors.user_grant(user.pk)
    return Principal(str(user.pk), user.get_username(), None, grant, factor_time)


def require_user_write(principal: Principal, user: AbstractBaseUser) -> None:
    """Acting on an account (its password, status, roles, factors, keys) needs every permission
    it holds: otherwise resetting a stronger admin's password would be a way up."""
    held = selectors.user_grant(user.pk).permissions.strings
    require_covers(principal, held, what=f"User {user.get_username()!r}")


def require_role_write(principal: Principal, role: Role) -> None:
    """Changing or deleting a role needs every permission it grants now."""
    require_covers(principal, role_permissions([role.name]), what=f"Role {role.name!r}")


def group_permissions(group_names: Iterable[str]) -> frozenset[str]:
    """Effective permissions a member of ``group_names`` gets from them (the groups' roles and
    their parents' roles, with role inheritance)."""
    return role_permissions(policy.group_roles(selectors.group_graph(), group_names))


def require_group_write(principal: Principal, group: Group) -> None:
    """Changing or deleting a group, or its members, needs every permission it gives now:
    nobody hands out (or takes away) through a group what they could not directly."""
    require_covers(principal, group_permissions([group.name]), what=f"Group {group.name!r}")


def require_client_write(principal: Principal, client: Client) -> None:
    """Changing a client (its secret, roles, keys) needs every permission it holds itself."""
    held = selectors.client_grant(client).permissions.strings
    require_covers(principal, held, what=f"Client {client.client_id!r}")


def require_not_self(
    principal: Principal, *, user: AbstractBaseUser | None = None, client: Client | None = None
) -> None:
    """Refuse deleting the caller's own account, or the client its credential was issued to
    (a user's token through that client included)."""
    if user is not None and principal.username == user.get_username():
        raise SelfDeletion("user", user.get_username())
    if client is not None and principal.client_id == client.client_id:
        raise SelfDeletion("client", client.client_id)


def access_user(principal: Principal, username: str, *, for_write: bool) -> AbstractBaseUser:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound("user", username)
    if for_write:
        require_user_write(principal, user)
    return user


def access_role(principal: Principal, name: str, *, for_write: bool) -> Role:
    role = Role.objects.filter(name=name).first()
    if role is None:
        raise NotFound("role", name)
    if for_write:
        require_role_write(principal, role)
    return role


def access_group(principal: Principal, name: str, *, for_write: bool) -> Group:
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise NotFound("group", name)
    if for_write:
        require_group_write(principal, group)
    return group


def access_client(principal: Principal, client_id: str, *, for_write: bool) -> Client:
    client = Client.objects.filter(client_id=client_id).first()
    if client is None:
        raise NotFound("client", client_id)
    if for_write:
        require_client_write(principal, client)
    return client
