"""Reads on the hot paths, served from per-process caches with generation invalidation, and
the live app sessions (refresh-token families) the console and the account page list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Min
from oauth2_provider.models import get_refresh_token_model

from accounts.models import User
from core.generations import ProcessCache
from oauth.models import Api, Client

_clients = ProcessCache("clients")


def client_get(client_id: str) -> Client | None:
    """The client with ``client_id`` (active or not), or None. One dict lookup when warm."""
    if not isinstance(client_id, str) or not client_id or "\x00" in client_id:
        return None

    def load() -> Client | None:
        return Client.objects.filter(client_id=client_id).first()

    return _clients.get(client_id, load)


def longest_access_token_lifetime() -> int:
    """Seconds the longest-lived access token issued now can live (the default, or a client's
    override)."""
    longest_client = Client.objects.aggregate(m=Max("access_token_lifetime"))["m"] or 0
    return max(settings.ACCESS_TOKEN_LIFETIME, longest_client)


def known_scopes(held: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The scopes a client may be given: OpenID Connect's, those the registered APIs define,
    and ``held`` (what a client has now, so an edit never drops one), each once, in order."""
    api_scopes = [s for scopes in Api.objects.values_list("scopes", flat=True) for s in scopes]
    return list(dict.fromkeys([*settings.OIDC_SCOPES, *sorted(api_scopes), *held]))


@dataclass(frozen=True)
class Session:
    """A live refresh-token family: one sign-in of a user at a client, across rotations."""

    family: uuid.UUID
    user: User
    client_name: str
    started: datetime
    last_used: datetime


def live_sessions(now: datetime, user: User | None = None) -> list[Session]:
    """Families whose current refresh token is unrevoked and not past its idle lifetime."""
    fresh = now - timedelta(seconds=settings.REFRESH_TOKEN_IDLE_LIFETIME)
    rows = (
        get_refresh_token_model()
        .objects.filter(revoked__isnull=True, created__gt=fresh)
        .exclude(token_family=None)
    )
    if user is not None:
        rows = rows.filter(user=user)
    families = rows.values("token_family", "user_id", "application__name", "application__client_id")
    summary = families.annotate(started=Min("created"), last_used=Max("updated")).order_by(
        "-last_used"
    )
    users = User.objects.in_bulk({row["user_id"] for row in summary})
    return [
        Session(
            family=row["token_family"],
            user=users[row["user_id"]],
            client_name=row["application__name"] or row["application__client_id"],
            started=row["started"],
            last_used=row["last_used"],
        )
        for row in summary
    ]
