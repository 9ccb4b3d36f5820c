"""Management reads: list querysets with their filters and orderings.

Filters and orderings are keyword arguments already validated by the caller (the API's filter
serializers allow only the fields named here), so no user input reaches ``order_by`` or a
lookup name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from oauth2_provider.models import (
    AbstractAccessToken,
    get_access_token_model,
    get_refresh_token_model,
)

from accounts.models import User
from audit.models import AuditEvent
from audit.selectors import actor_matches
from oauth import clienttokens
from oauth.models import AuthContext, Client
from oauth.selectors import longest_access_token_lifetime
from roles import policy, selectors
from roles.models import ClientRole, Group, Role, UserRole

USER_ORDERINGS = ("username", "-username", "date_joined", "-date_joined", "id", "-id")
ROLE_ORDERINGS = ("name", "-name", "created_at", "-created_at")
GROUP_ORDERINGS = ("name", "-name", "created_at", "-created_at")
CLIENT_ORDERINGS = ("client_id", "-client_id", "name", "-name", "created", "-created")


def user_list(
    *, ordering: str = "username", is_active: bool | None = None, username: str = ""
) -> QuerySet[User]:
    users = User.objects.all()
    if is_active is not None:
        users = users.filter(is_active=is_active)
    if username:
        users = users.filter(username__startswith=username)
    return users.order_by(ordering, "id")


def role_list(*, ordering: str = "name") -> QuerySet[Role]:
    return Role.objects.prefetch_related("parents", "permissions").order_by(ordering, "id")


@dataclass(frozen=True)
class RoleView:
    """A role with its permissions split into own and inherited, and its ancestors."""

    role: Role
    parents: list[str]
    own_permissions: list[str]
    inherited_permissions: list[str]
    ancestors: list[str]


def role_view(role: Role) -> RoleView:
    graph = selectors.role_graph()
    own = {p.value for p in role.permissions.all()}
    effective = policy.effective_permissions(graph, [role.name])
    return RoleView(
        role=role,
        parents=sorted(p.name for p in role.parents.all()),
        own_permissions=sorted(own),
        inherited_permissions=sorted(effective - own),
        ancestors=sorted(policy.effective_roles(graph, [role.name]) - {role.name}),
    )


def group_list(*, ordering: str = "name", name: str = "") -> QuerySet[Group]:
    groups = Group.objects.prefetch_related("parents", "roles").annotate(
        member_count=Count("members", distinct=True)
    )
    if name:
        groups = groups.filter(name__icontains=name)
    return groups.order_by(ordering, "id")


@dataclass(frozen=True)
class GroupView:
    """A group with its own and effective roles (ancestor groups and role inheritance)."""

    parents: list[str]
    ancestors: list[str]
    roles: list[str]
    effective_roles: list[str]
    members: int


def group_view(group: Group) -> GroupView:
    groups = selectors.group_graph()
    given = policy.group_roles(groups, [group.name])
    count = getattr(group, "member_count", None)
    return GroupView(
        parents=sorted(p.name for p in group.parents.all()),
        ancestors=sorted(groups.ancestry(group.name) - {group.name}),
        roles=sorted(r.name for r in group.roles.all()),
        effective_roles=sorted(policy.effective_roles(selectors.role_graph(), given)),
        members=group.members.count() if count is None else count,
    )


def group_members(group: Group) -> QuerySet[User]:
    return group.members.order_by("username", "id")


def user_assignments(user: User) -> QuerySet[UserRole]:
    return UserRole.objects.filter(user=user).select_related("role").order_by("role__name")


def client_assignments(client: Client) -> QuerySet[ClientRole]:
    return ClientRole.objects.filter(client=client).select_related("role").order_by("role__name")


def client_list(*, ordering: str = "client_id", is_active: bool | None = None) -> QuerySet[Client]:
    clients = Client.objects.all()
    if is_active is not None:
        clients = clients.filter(is_active=is_active)
    return clients.order_by(ordering, "id")


def user_access_tokens(user: User) -> QuerySet[AbstractAccessToken]:
    """The user's access tokens that have not expired (revoked ones no longer exist)."""
    return (
        get_access_token_model()
        .objects.filter(user=user, expires__gt=timezone.now())
        .select_related("application")
        .order_by("-created", "-id")
    )


def user_access_token(user: User, token_id: int) -> AbstractAccessToken | None:
    """One live access token of ``user``, or None (another user's token is None too)."""
    return user_access_tokens(user).filter(pk=token_id).first()


def user_sessions(user: User) -> QuerySet[AuthContext]:
    """Sign-ins of ``user`` whose refresh-token family still has a live member."""
    family = get_refresh_token_model().objects.filter(token_family=OuterRef("token_family"))
    latest = family.order_by("-created").values("created")[:1]
    return (
        AuthContext.objects.filter(user=user, token_family__isnull=False)
        .filter(Exists(family.filter(revoked__isnull=True)))
        .annotate(last_refreshed=Subquery(latest))
        .select_related("client")
        .order_by("-created_at")
    )


def user_session(user: User, session_id: object) -> AuthContext | None:
    return user_sessions(user).filter(pk=session_id).first()


def audit_events(
    *,
    actor: str = "",
    event: str = "",
    outcome: str = "",
    target: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events matching every filter given, newest first. ``actor`` is matched as shown
    (``audit.selectors.actor_matches``: ``automation`` finds ``client:automation``)."""
    events = AuditEvent.objects.all()
    if actor:
        events = events.filter(actor_matches(actor))
    exact = {"event": event, "outcome": outcome, "target": target}
    events = events.filter(**{field: value for field, value in exact.items() if value})
    if since is not None:
        events = events.filter(ts__gte=since)
    if until is not None:
        events = events.filter(ts__lt=until)
    return events.order_by("-ts", "-id")


def audit_event(event_id: int) -> AuditEvent | None:
    return AuditEvent.objects.filter(pk=event_id).first()


@dataclass(frozen=True)
class ClientToken:
    """A client-credentials access token (no row: known from its ``token.issued`` event)."""

    jti: str
    client_id: str
    scope: str
    issued: datetime
    expires: datetime


def live_client_tokens(
    now: datetime, client_id: str | None = None, limit: int = 1000
) -> list[ClientToken]:
    """Unexpired, unrevoked client-credentials tokens (of ``client_id``, else of every
    client), newest first, at most ``limit``: they have no row, so they are known from their
    ``token.issued`` events."""
    issued = AuditEvent.objects.filter(
        event="token.issued",
        data__grant_type="client_credentials",
        ts__gte=now - timedelta(seconds=longest_access_token_lifetime()),
    )
    if client_id is not None:
        issued = issued.filter(client_id=client_id)
    revoked = clienttokens.revoked_jtis()
    live = []
    for event in issued.order_by("-id")[:limit]:
        exp, jti = event.data.get("exp"), event.data.get("jti")
        if isinstance(exp, int) and exp > now.timestamp() and jti and jti not in revoked:
            expires = datetime.fromtimestamp(exp, tz=now.tzinfo)
            live.append(
                ClientToken(jti, event.client_id, event.data.get("scope", ""), event.ts, expires)
            )
    return live


def live_client_token(now: datetime, jti: str, client_id: str | None = None) -> ClientToken | None:
    tokens = live_client_tokens(now, client_id)
    return next((token for token in tokens if token.jti == jti), None)
