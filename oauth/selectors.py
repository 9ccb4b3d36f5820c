"""Reads on the hot paths, served from per-process caches with generation invalidation."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max

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
