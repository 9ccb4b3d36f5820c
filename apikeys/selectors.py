"""Reads of API keys, served from a per-process cache invalidated by the ``apikeys`` generation.

``key_record(key_id)`` is one dict lookup on a warm cache: every writer in ``apikeys.services``
bumps the generation, so a rotation or revocation is seen by the next request in every process.
What a key may do is computed at use time from cached pieces (the ``roles`` generation):
the key's own roles, with their ancestors, intersected with the owner's effective roles.
Intersecting *roles* (sets closed under inheritance) rather than permission strings is what
makes endpoint rules intersect correctly (glob patterns have no finite set intersection) and
never yields more than either side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts import selectors as account_selectors
from apikeys import credentials, network
from apikeys.models import ApiKey, ApiKeyRole
from core import clock
from core.generations import ProcessCache
from oauth.selectors import client_get
from roles import policy
from roles import selectors as role_selectors

_cache = ProcessCache("apikeys")
# A key's role assignments live with the other assignments, under the ``roles`` generation
# (a deleted role takes its assignments with it and bumps only that one).
_held_cache = ProcessCache("roles")


@dataclass(frozen=True)
class KeyRecord:
    """An immutable snapshot of a key row, safe to share between requests and threads."""

    pk: int
    key_id: str
    name: str
    user_id: int | None
    client_id: str | None  # the owner client's client_id
    secret_hash: str
    previous_secret_hash: str
    previous_valid_until: float | None
    expires_at: float | None
    revoked_at: float | None
    created_at: float
    last_used_at: float | None
    networks: tuple[network.Network, ...]

    def expired(self, moment: float) -> bool:
        return self.expires_at is not None and self.expires_at <= moment


def _ts(value: object) -> float | None:
    return value.timestamp() if value is not None else None  # type: ignore[attr-defined]


def _load(key_id: str) -> KeyRecord | None:
    key = ApiKey.objects.filter(key_id=key_id).select_related("client").first()
    if key is None:
        return None
    return KeyRecord(
        pk=key.pk,
        key_id=key.key_id,
        name=key.name,
        user_id=key.user_id,
        client_id=key.client.client_id if key.client is not None else None,
        secret_hash=key.secret_hash,
        previous_secret_hash=key.previous_secret_hash,
        previous_valid_until=_ts(key.previous_valid_until),
        expires_at=_ts(key.expires_at),
        revoked_at=_ts(key.revoked_at),
        created_at=key.created_at.timestamp(),
        last_used_at=_ts(key.last_used_at),
        networks=network.parse_networks(key.allowed_ips),
    )


def key_record(key_id: str) -> KeyRecord | None:
    return _cache.get(key_id, lambda: _load(key_id))


@dataclass(frozen=True)
class Owner:
    """The owner of a key as it is now: who, and what it may do."""

    sub: str
    username: str | None
    client_id: str | None
    grant: policy.Grant


def active_owner(record: KeyRecord) -> Owner | None:
    """The key's owner if it is active, else None (disabling the owner disables its keys).

    Clients come from their cache, users from theirs (``accounts.selectors.user_state``, as for
    access tokens): a deactivation is seen by the next request in every process, without a query.
    """
    if record.client_id is not None:
        client = client_get(record.client_id)
        if client is None or not client.is_active:
            return None
        return Owner(client.client_id, None, client.client_id, role_selectors.client_grant(client))
    state = account_selectors.user_state(record.user_id)
    if state is None or not state[1]:
        return None
    return Owner(str(record.user_id), state[0], None, role_selectors.user_grant(record.user_id))


def key_roles(key_pk: int) -> role_selectors.Held:
    """The key's own role assignments: (role name, expiry as a UNIX time or None)."""

    def load() -> role_selectors.Held:
        rows = ApiKeyRole.objects.filter(key_id=key_pk).values_list("role__name", "expires_at")
        return tuple((name, _ts(expires)) for name, expires in rows)

    return _held_cache.get(("apikey", key_pk), load)


def key_grant(record: KeyRecord, owner: Owner) -> policy.Grant:
    """The key's own roles (active now, with ancestors) intersected with the owner's, less,
    for a user's key, roles that require MFA."""
    moment = clock.now()
    held = frozenset(name for name, exp in key_roles(record.pk) if exp is None or exp > moment)
    if not held:
        return policy.NO_GRANT
    own = role_selectors.grant_for_roles(held).roles
    effective = own & owner.grant.roles
    if owner.username is not None:
        # A key is no second factor: a user's key never carries a role that needs MFA to be
        # used, directly or through an ancestor (the set stays closed under inheritance).
        effective = frozenset(
            name
            for name in effective
            if not role_selectors.grant_for_roles(frozenset({name})).require_mfa
        )
    return role_selectors.grant_for_roles(effective) if effective else policy.NO_GRANT


# What a listing may show: the public key id (as the ``ask_<key id>_`` prefix), never a hash.
LISTED_FIELDS = (
    "key_id",
    "name",
    "description",
    "expires_at",
    "allowed_ips",
    "created_at",
    "last_used_at",
    "last_used_ip",
    "revoked_at",
)


def api_key_list(*, user: object = None, client: object = None) -> list[dict[str, Any]]:
    """The keys of one owner (user or client), newest first, for display."""
    if (user is None) == (client is None):
        raise ValueError("list the keys of exactly one user or one client")
    keys = ApiKey.objects.filter(**({"user": user} if user is not None else {"client": client}))
    roles: dict[int, list[str]] = {}
    for key_pk, name in ApiKeyRole.objects.filter(key__in=keys).values_list("key_id", "role__name"):
        roles.setdefault(key_pk, []).append(name)
    return [
        {
            **{field: row[field] for field in LISTED_FIELDS},
            "prefix": f"{credentials.PREFIX}{row['key_id']}_",
            "roles": sorted(roles.get(row["pk"], [])),
        }
        for row in keys.values("pk", *LISTED_FIELDS)
    ]
