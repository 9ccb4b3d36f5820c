"""Reads of the account page: where the user is signed in, which applications hold access, and
their own recent security events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min, Q, QuerySet
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
)

from accounts.models import User
from audit.models import AuditEvent
from oauth.models import AuthContext, Client
from oauth.selectors import Session as AppSession
from oauth.selectors import live_sessions
from selfservice import devices
from selfservice.events import ACTED_EVENTS, SHOWN_EVENTS
from selfservice.models import BrowserSession

EVENT_DAYS = 30


@dataclass(frozen=True)
class SignedIn:
    """A browser session of the user, with the app sign-ins started from it."""

    id: uuid.UUID
    device: str
    ip: str | None
    first_seen: datetime
    last_seen: datetime
    current: bool
    apps: list[AppSession] = field(default_factory=list)


def browser_sessions(user: User, now: datetime) -> QuerySet[BrowserSession]:
    """The user's browser sessions whose Django session has not expired, latest seen first."""
    return BrowserSession.objects.filter(user=user, session__expire_date__gt=now).order_by(
        "-last_seen"
    )


def app_sessions(user: User, now: datetime) -> list[tuple[AppSession, str]]:
    """The user's live app sign-ins (refresh-token families) with the ``sid`` of the browser
    sign-in each came from ("" when unknown)."""
    apps = live_sessions(now, user)
    sids = dict(
        AuthContext.objects.filter(token_family__in=[a.family for a in apps]).values_list(
            "token_family", "sid"
        )
    )
    return [(app, sids.get(app.family) or "") for app in apps]


def where_signed_in(
    user: User, now: datetime, current_key: str | None
) -> tuple[list[SignedIn], list[AppSession]]:
    """The browser sessions (each with its app sign-ins), and the app sign-ins whose browser
    session has ended or is unknown."""
    rows = list(browser_sessions(user, now))
    by_sid: dict[str, SignedIn] = {}
    listed = []
    for row in rows:
        entry = SignedIn(
            id=row.id,
            device=devices.describe(row.user_agent),
            ip=row.ip,
            first_seen=row.created_at,
            last_seen=row.last_seen,
            current=row.session_id == current_key,
        )
        listed.append(entry)
        if row.sid:
            by_sid[row.sid] = entry
    alone = []
    for app, sid in app_sessions(user, now):
        if sid in by_sid:
            by_sid[sid].apps.append(app)
        else:
            alone.append(app)
    listed.sort(key=lambda s: not s.current)  # this device first
    return listed, alone


@dataclass(frozen=True)
class Application:
    """A client holding access for the user: a live refresh token, access token or code."""

    client: Client
    scopes: list[str]
    granted: datetime
    last_used: datetime


def applications(user: User, now: datetime) -> list[Application]:
    """Every client with a live grant of ``user``, with the scopes granted and since when."""
    fresh = now - timedelta(seconds=settings.REFRESH_TOKEN_IDLE_LIFETIME)
    rows: dict[int, dict] = {}

    def add(client_id: int, scope: str | None, first: datetime, last: datetime) -> None:
        row = rows.setdefault(client_id, {"scopes": set(), "first": first, "last": last})
        row["scopes"].update((scope or "").split())
        row["first"], row["last"] = min(row["first"], first), max(row["last"], last)

    refresh = get_refresh_token_model().objects.filter(
        user=user, revoked__isnull=True, created__gt=fresh
    )
    families = list(refresh.exclude(token_family=None).values_list("token_family", flat=True))
    started = dict(
        get_refresh_token_model()
        .objects.filter(user=user, token_family__in=families)
        .values("token_family")
        .annotate(first=Min("created"))
        .values_list("token_family", "first")
    )
    for r in refresh.values(
        "application_id", "token_family", "created", "updated", "access_token__scope"
    ):
        first = started.get(r["token_family"], r["created"])
        add(r["application_id"], r["access_token__scope"], first, r["updated"])
    for model in (get_access_token_model(), get_grant_model()):
        live = model.objects.filter(user=user, expires__gt=now)
        for r in live.values("application_id", "scope", "created", "updated"):
            add(r["application_id"], r["scope"], r["created"], r["updated"])
    clients = Client.objects.in_bulk(rows)
    found = [
        Application(clients[pk], sorted(row["scopes"]), row["first"], row["last"])
        for pk, row in rows.items()
        if pk in clients
    ]
    return sorted(found, key=lambda a: a.last_used, reverse=True)


def security_events(user: User, now: datetime) -> QuerySet[AuditEvent]:
    """The user's own security events of the last ``EVENT_DAYS`` days, newest first: those
    naming them as their subject, and their own sign-ins and factor checks."""
    name = user.username
    mine = Q(target__in=[name, f"user:{name}"]) | Q(actor=name, event__in=ACTED_EVENTS)
    return AuditEvent.objects.filter(
        mine, ts__gte=now - timedelta(days=EVENT_DAYS), event__in=SHOWN_EVENTS
    ).order_by("-ts", "-id")
