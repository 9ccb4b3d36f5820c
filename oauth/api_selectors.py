"""Reads about registered APIs for the admin surfaces: the list, and what uses each API.

An API is *used* while a client lists its identifier in ``resources`` (the client may obtain
tokens for it) or a live token carries its audience: an unexpired access token, or an
unrevoked refresh token within its idle lifetime, whose RFC 8707 ``resource`` (DOT's JSON
field, the token's ``aud``) names it. Client-credentials access tokens have no row
(``oauth.clienttokens``) and are not counted; they live ``ACCESS_TOKEN_LIFETIME`` at most.

Not a hot path: these run on admin pages and before an API is deleted or renamed. A JSON list
is searched as text for the quoted identifier (identifiers are RFC 3986 characters only,
``oauth.apis.identifier_error``, so JSON writes them verbatim on every backend), which SQLite
supports where JSON containment is not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from oauth.apis import audience_of
from oauth.models import Api, Client

API_ORDERINGS = ("identifier", "-identifier", "name", "-name", "created_at", "-created_at")


@dataclass(frozen=True)
class ApiUsage:
    """What uses an API: the clients listing it, and the live tokens carrying its audience."""

    clients: tuple[str, ...]  # client_ids, sorted
    access_tokens: int
    refresh_tokens: int

    @property
    def tokens(self) -> int:
        return self.access_tokens + self.refresh_tokens

    @property
    def in_use(self) -> bool:
        return bool(self.clients or self.tokens)

    def describe(self) -> str:
        """One sentence for a refusal: what still uses the API."""
        parts = []
        if self.clients:
            parts.append(f"client(s) {', '.join(self.clients)} list it in their resources")
        if self.tokens:
            parts.append(
                f"{self.access_tokens} live access token(s) and {self.refresh_tokens} refresh "
                "token(s) carry its audience"
            )
        return "; ".join(parts)


def api_list(*, ordering: str = "identifier") -> QuerySet[Api]:
    """Every API (``ordering`` already validated: one of ``API_ORDERINGS``)."""
    return Api.objects.select_related("client").order_by(ordering, "id")


def _holds(field: str, value: str) -> Q:
    """The JSON list ``field`` (annotated as ``<field>_text``) holds ``value``; JSON writes it
    quoted: '"https://orders.example.com/"'."""
    return Q(**{f"{field}_text__contains": json.dumps(value)})


def _as_text(rows: QuerySet, field: str) -> QuerySet:
    return rows.annotate(**{f"{field}_text": Cast(field, TextField())})


def _count_holding(rows: QuerySet, values: Sequence[str]) -> dict[str, int]:
    """How many of ``rows`` have each of ``values`` in their ``resource`` list (one query)."""
    if not values:
        return {}
    counts = _as_text(rows, "resource").aggregate(
        **{f"n{i}": Count("pk", filter=_holds("resource", v)) for i, v in enumerate(values)}
    )
    return {value: counts[f"n{i}"] for i, value in enumerate(values)}


def _live_access_tokens(now: datetime) -> QuerySet:
    return get_access_token_model().objects.filter(expires__gt=now)


def _live_refresh_tokens(now: datetime) -> QuerySet:
    fresh = now - timedelta(seconds=settings.REFRESH_TOKEN_IDLE_LIFETIME)
    return get_refresh_token_model().objects.filter(revoked__isnull=True, created__gt=fresh)


def api_usage(apis: Sequence[Api], *, now: datetime | None = None) -> dict[int, ApiUsage]:
    """What uses each of ``apis`` (by primary key), in three queries whatever their number."""
    now = now or timezone.now()
    audiences = [audience_of(api.identifier) for api in apis]
    access = _count_holding(_live_access_tokens(now), audiences)
    refresh = _count_holding(_live_refresh_tokens(now), audiences)
    identifiers = {api.identifier for api in apis}
    listed: dict[str, list[str]] = {identifier: [] for identifier in identifiers}
    if identifiers:
        holders = _as_text(Client.objects.all(), "resources").filter(
            Q.create([_holds("resources", i) for i in identifiers], connector=Q.OR)
        )
        for client_id, resources in holders.values_list("client_id", "resources"):
            for identifier in identifiers.intersection(resources):
                listed[identifier].append(client_id)
    return {
        api.pk: ApiUsage(
            clients=tuple(sorted(listed[api.identifier])),
            access_tokens=access[audience_of(api.identifier)],
            refresh_tokens=refresh[audience_of(api.identifier)],
        )
        for api in apis
    }


def api_usage_of(api: Api) -> ApiUsage:
    return api_usage([api])[api.pk]
