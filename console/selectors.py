"""Console reads: dashboard series, sessions and tokens, the role tree, audit filtering."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY as SESSION_USER
from django.contrib.sessions.models import Session as DjangoSession
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Trunc
from oauth2_provider.models import get_access_token_model

from accounts.limits import LOGIN_PER_ACCOUNT, account_key
from accounts.models import User
from apikeys.models import ApiKey, ApiKeyRole
from audit.models import AuditEvent
from core import limits
from mfa.models import Lockout
from oauth.models import Client
from oauth.selectors import live_sessions
from roles import policy, selectors
from roles.models import ClientRole, Role, UserRole

FAILED_LOGIN = Q(event="login", outcome__in=[AuditEvent.Outcome.FAILURE, AuditEvent.Outcome.DENIED])


# --- dashboard --------------------------------------------------------------------------------


SIGNED_IN = Q(event="login", outcome=AuditEvent.Outcome.SUCCESS)
SECOND_FACTOR_FAILED = Q(
    event="mfa.verify", outcome__in=[AuditEvent.Outcome.FAILURE, AuditEvent.Outcome.DENIED]
)
TOKEN_ISSUED = Q(event__in=("token.issued", "token.refreshed"))


@dataclass(frozen=True)
class Period:
    """A dashboard window: ``slots`` hours or days, the newest one the current."""

    name: str  # the ``period`` query value
    slots: int
    unit: str  # "hour" or "day"
    label_format: str  # strftime of a slot's label
    title: str


PERIODS = {
    "24h": Period("24h", 24, "hour", "%H:00", "last 24 hours"),
    "30d": Period("30d", 30, "day", "%m-%d", "last 30 days"),
}


@dataclass(frozen=True)
class Slot:
    start: datetime
    signed_in: int
    failed_logins: int
    second_factor_failed: int
    issued: int


def _first_slot(now: datetime, period: Period) -> datetime:
    last = now.replace(minute=0, second=0, microsecond=0)
    if period.unit == "day":
        last = last.replace(hour=0)
        return last - timedelta(days=period.slots - 1)
    return last - timedelta(hours=period.slots - 1)


def activity(now: datetime, period: Period) -> list[Slot]:
    """Per hour or day of ``period`` (oldest first), from the audit rows in one aggregate
    query: sign-ins (``login`` events that succeeded; failed or refused), second-factor
    failures (``mfa.verify`` that failed or was refused) and access tokens issued
    (``token.issued`` and ``token.refreshed``)."""
    first = _first_slot(now, period)
    counted = (
        AuditEvent.objects.filter(SIGNED_IN | FAILED_LOGIN | SECOND_FACTOR_FAILED | TOKEN_ISSUED)
        .filter(ts__gte=first)
        .annotate(slot=Trunc("ts", period.unit, tzinfo=UTC))
        .values("slot")
        .annotate(
            signed_in=Count("pk", filter=SIGNED_IN),
            failed=Count("pk", filter=FAILED_LOGIN),
            second=Count("pk", filter=SECOND_FACTOR_FAILED),
            issued=Count("pk", filter=TOKEN_ISSUED),
        )
        .order_by()
    )
    rows = {row["slot"]: row for row in counted}
    step = timedelta(days=1) if period.unit == "day" else timedelta(hours=1)
    slots = []
    for index in range(period.slots):
        start = first + index * step
        row = rows.get(start, {})
        slots.append(
            Slot(
                start,
                row.get("signed_in", 0),
                row.get("failed", 0),
                row.get("second", 0),
                row.get("issued", 0),
            )
        )
    return slots


@dataclass(frozen=True)
class Ranked:
    label: str
    count: int
    client_pk: int | None = None  # a client's console page


def top_clients(now: datetime, period: Period, limit: int = 5) -> list[Ranked]:
    """The clients that were issued the most access tokens in ``period`` (two queries)."""
    counted = (
        AuditEvent.objects.filter(TOKEN_ISSUED, ts__gte=_first_slot(now, period))
        .exclude(client_id="")
        .values("client_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "client_id")[:limit]
    )
    rows = list(counted)
    clients = {
        c.client_id: c
        for c in Client.objects.filter(client_id__in=[r["client_id"] for r in rows]).only(
            "pk", "client_id", "name"
        )
    }
    ranked = []
    for row in rows:
        client = clients.get(row["client_id"])
        label = (client.name or client.client_id) if client else row["client_id"]
        ranked.append(Ranked(label, row["n"], client.pk if client else None))
    return ranked


def top_failing_addresses(now: datetime, period: Period, limit: int = 5) -> list[Ranked]:
    """The source addresses with the most failed sign-ins and second-factor failures."""
    counted = (
        AuditEvent.objects.filter(FAILED_LOGIN | SECOND_FACTOR_FAILED)
        .filter(ts__gte=_first_slot(now, period), ip__isnull=False)
        .values("ip")
        .annotate(n=Count("pk"))
        .order_by("-n", "ip")[:limit]
    )
    return [Ranked(row["ip"], row["n"]) for row in counted]


# --- sessions and tokens ----------------------------------------------------------------------


def signed_in_people(now: datetime) -> int:
    """How many people are signed in now: users of an unexpired browser session (the console,
    and the sign-in page apps send people to) or of a live app session (a refresh-token
    family, ``live_sessions``), each person once."""
    people = {session.user.pk for session in live_sessions(now)}
    for browser in DjangoSession.objects.filter(expire_date__gt=now).iterator():
        user_id = browser.get_decoded().get(SESSION_USER)
        if user_id is not None:
            people.add(int(user_id))
    return User.objects.filter(pk__in=people, is_active=True).count()


def live_access_tokens(now: datetime) -> QuerySet:
    """Unexpired access tokens of users, newest first (their refresh families are listed
    separately; client-credentials tokens have no row: ``live_client_tokens``)."""
    return (
        get_access_token_model()
        .objects.filter(expires__gt=now)
        .select_related("user", "application")
        .order_by("-created")
    )


# --- API keys ---------------------------------------------------------------------------------


def api_keys(*, owner: str = "") -> QuerySet:
    """Every API key, newest first, with its owner and roles; ``owner`` filters by a substring
    of the owning user's username or the owning client's client id or name."""
    rows = ApiKey.objects.select_related("user", "client").prefetch_related(
        Prefetch("role_assignments", ApiKeyRole.objects.select_related("role").order_by("role"))
    )
    if owner:
        rows = rows.filter(
            Q(user__username__icontains=owner)
            | Q(client__client_id__icontains=owner)
            | Q(client__name__icontains=owner)
        )
    return rows.order_by("-created_at", "-pk")


# --- roles ------------------------------------------------------------------------------------


@dataclass
class RoleNode:
    role: Role
    children: list[RoleNode] = field(default_factory=list)
    other_parents: list[str] = field(default_factory=list)


def role_tree() -> list[RoleNode]:
    """Roles as a forest under their parents. A role with several parents appears under each,
    listing the others, so the whole hierarchy is visible without drawing a graph."""
    roles = list(Role.objects.prefetch_related("parents").order_by("name"))
    parents = {role.pk: sorted(p.name for p in role.parents.all()) for role in roles}
    children: dict[str, list[Role]] = {}
    for role in roles:
        for name in parents[role.pk]:
            children.setdefault(name, []).append(role)

    def node(role: Role, via: str | None) -> RoleNode:
        others = [p for p in parents[role.pk] if p != via]
        return RoleNode(role, [node(c, role.name) for c in children.get(role.name, [])], others)

    return [node(role, None) for role in roles if not parents[role.pk]]


@dataclass(frozen=True)
class RolePermissions:
    own: list[str]
    inherited: list[tuple[str, str]]  # (permission, from role)


def role_permissions(role: Role) -> RolePermissions:
    """The role's own permissions, and those it inherits with the ancestor each comes from."""
    graph = selectors.role_graph()
    own = sorted(graph.roles[role.name].permissions)
    inherited: dict[str, str] = {}
    for ancestor in sorted(policy.effective_roles(graph, [role.name]) - {role.name}):
        for permission in graph.roles[ancestor].permissions:
            if permission not in own:
                inherited.setdefault(permission, ancestor)
    return RolePermissions(own, sorted(inherited.items()))


def role_holders(role: Role) -> tuple[QuerySet, QuerySet]:
    """Direct assignments of ``role`` to users and to clients."""
    users = UserRole.objects.filter(role=role).select_related("user").order_by("user__username")
    clients = ClientRole.objects.filter(role=role).select_related("client")
    return users, clients.order_by("client__client_id")


# --- audit ------------------------------------------------------------------------------------


def audit_events(
    *,
    actor: str = "",
    event: str = "",
    outcome: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """Audit events, newest first, filtered by actor or target (substring), event name
    (prefix: ``role.`` finds every role event), outcome and time range."""
    rows = AuditEvent.objects.order_by("-id")
    if actor:
        rows = rows.filter(Q(actor__icontains=actor) | Q(target__icontains=actor))
    if event:
        rows = rows.filter(event__startswith=event)
    if outcome:
        rows = rows.filter(outcome=outcome)
    if since is not None:
        rows = rows.filter(ts__gte=since)
    if until is not None:
        rows = rows.filter(ts__lt=until)
    return rows


def audit_event_names() -> list[str]:
    return list(AuditEvent.objects.order_by("event").values_list("event", flat=True).distinct())


@dataclass(frozen=True)
class Lock:
    """An account that cannot sign in for now: why, and until when."""

    user: User
    kind: str  # "mfa" (wrong second-factor codes) or "login" (wrong passwords)
    until: datetime

    @property
    def label(self) -> str:
        return "second factor (wrong codes)" if self.kind == "mfa" else "password (wrong passwords)"


def locked_accounts(now: datetime) -> tuple[list[Lock], bool]:
    """Accounts locked now, soonest unlock first, and whether the password-throttle part could
    be read (its blocks live in the cache, keyed by a hash of the typed username: candidates
    are the accounts a ``login.throttled`` event named within the throttle window)."""
    locks = [
        Lock(row.user, "mfa", row.locked_until)
        for row in Lockout.objects.filter(locked_until__gt=now).select_related("user")
    ]
    since = now - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)
    named = set(
        AuditEvent.objects.filter(event="login.throttled", ts__gte=since).values_list(
            "target", flat=True
        )
    )
    wanted = {account_key(name) for name in named if name.strip()}
    exact = Q(pk__in=[])
    for name in wanted:  # the throttle keys by the casefolded typed name
        exact |= Q(username__iexact=name)
    candidates = User.objects.filter(exact) if wanted else User.objects.none()
    readable = True
    for user in candidates:
        try:
            seconds = limits.retry_after((LOGIN_PER_ACCOUNT, user.username))
        except limits.LimitUnavailable:
            readable = False
            break
        if seconds:
            locks.append(Lock(user, "login", now + timedelta(seconds=seconds)))
    return sorted(locks, key=lambda lock: (lock.until, lock.user.username)), readable


def disabled_users() -> QuerySet:
    return User.objects.filter(is_active=False).order_by("username")
