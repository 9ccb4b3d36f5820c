"""Reads on the hot paths, served from per-process caches with generation invalidation."""

from __future__ import annotations

from oauth.generations import ProcessCache
from oauth.models import Client

_clients = ProcessCache("clients")


def client_get(client_id: str) -> Client | None:
    """The client with ``client_id`` (active or not), or None. One dict lookup when warm."""
    if not isinstance(client_id, str) or not client_id or "\x00" in client_id:
        return None

    def load() -> Client | None:
        return Client.objects.filter(client_id=client_id).first()

    return _clients.get(client_id, load)
