"""Reads of the audit log shared by its surfaces."""

from __future__ import annotations

from django.db.models import Q

# How an actor that is a client (not a person) is stored: ``client:<client_id>``.
CLIENT_ACTOR_PREFIX = "client:"


def actor_matches(shown: str) -> Q:
    """Events whose actor is ``shown`` as the operator sees and types it: stored exactly so
    (a username, ``apply``, ``client:automation``), or the client of that id
    (``automation`` finds ``client:automation``). Exact and case-sensitive otherwise; a user
    and a client of the same name are both found by the bare name, only the client by
    ``client:<id>``."""
    return Q(actor=shown) | Q(actor=CLIENT_ACTOR_PREFIX + shown.removeprefix(CLIENT_ACTOR_PREFIX))
