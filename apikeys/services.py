"""Writes to API keys: create, update, rotate, revoke, mark used, and mint exchanged tokens.

Every change runs in one transaction and bumps the ``apikeys`` generation (and ``roles`` when
the key's roles change); life-cycle changes (create, update, rotate, revoke) write an audit
event. The full key exists only in the return value of ``api_key_create`` /
``api_key_rotate``; nothing here logs or stores it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from oauth2_provider.models import get_access_token_model, set_token_value

from apikeys import credentials, network
from apikeys.models import ApiKey, ApiKeyRole, ApiKeyToken
from apikeys.selectors import KeyRecord
from audit.services import record
from core import clock, generations
from core.actors import Actor
from core.request_meta import RequestMeta
from oauth import tokens
from oauth.models import Client
from roles import access
from roles.models import Role

if TYPE_CHECKING:
    from apikeys.authentication import Authenticated

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

# ``last_used_at`` is written at most once per this many seconds per key.
LAST_USED_INTERVAL = 60


def _owner_label(key: ApiKey) -> str:
    if key.client_id is not None:
        return f"client:{key.client.client_id}"
    return f"user:{key.user.get_username()}"


def _networks(allowed_ips: Sequence[str]) -> list[str]:
    try:
        return [str(n) for n in network.parse_networks(allowed_ips)]
    except ValueError as exc:
        raise ValidationError({"allowed_ips": [str(exc)]}) from None


def _roles(names: Sequence[str]) -> list[Role]:
    names = list(dict.fromkeys(names))
    found = {r.name: r for r in Role.objects.filter(name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValidationError({"roles": [f"unknown role(s): {', '.join(unknown)}"]})
    return [found[n] for n in names]


def _set_roles(key: ApiKey, names: Sequence[str]) -> bool:
    wanted = {r.name: r for r in _roles(names)}
    current = dict(key.role_assignments.values_list("role__name", "pk"))
    if set(wanted) == set(current):
        return False
    generations.bump("roles")
    key.role_assignments.exclude(role__name__in=list(wanted)).delete()
    ApiKeyRole.objects.bulk_create(
        [ApiKeyRole(key=key, role=role) for name, role in wanted.items() if name not in current]
    )
    return True


@transaction.atomic
def api_key_create(
    *,
    name: str,
    user: Any = None,
    client: Client | None = None,
    description: str = "",
    roles: Sequence[str] = (),
    expires_at: datetime | None = None,
    allowed_ips: Sequence[str] = (),
    actor: Actor,
    meta: RequestMeta | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for exactly one of ``user`` or ``client`` (the caller guards the owner);
    returns it with the full key, which is not stored anywhere and cannot be shown again. A
    key is a credential with roles: creating one needs the actor's fresh second factor, and its
    roles must be within the actor's permissions."""
    actor.require_fresh_factor()
    actor.require_covers(access.role_permissions(roles), what="The key's roles")
    if (user is None) == (client is None):
        raise ValidationError("an API key belongs to exactly one user or one client")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise ValidationError({"expires_at": ["must be in the future"]})
    owner = {"user": user} if user is not None else {"client": client}
    if ApiKey.objects.filter(**owner, name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": ["the owner already has a live key with this name"]})
    generations.bump("apikeys")
    secret = credentials.new_secret()
    key = ApiKey(
        key_id=credentials.new_key_id(),
        name=name,
        description=description,
        user=user,
        client=client,
        secret_hash=credentials.hash_secret(secret),
        expires_at=expires_at,
        allowed_ips=_networks(allowed_ips),
    )
    key.full_clean()
    key.save()
    _set_roles(key, roles)
    record(
        "api_key.created",
        actor=actor.audit_name,
        meta=meta,
        target=f"api_key:{key.key_id}",
        client_id=client.client_id if client is not None else "",
        owner=_owner_label(key),
        name=name,
        roles=sorted(roles),
    )
    return key, credentials.assemble(key.key_id, secret)


@transaction.atomic
def api_key_update(
    *,
    key: ApiKey,
    description: str | None = None,
    roles: Sequence[str] | None = None,
    allowed_ips: Sequence[str] | None = None,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> bool:
    """Set the fields given (a list replaces the stored one); returns whether it changed."""
    generations.bump("apikeys")
    changed = []
    if description is not None and description != key.description:
        key.description = description
        changed.append("description")
    if allowed_ips is not None:
        networks = _networks(allowed_ips)
        if networks != key.allowed_ips:
            key.allowed_ips = networks
            changed.append("allowed_ips")
    if changed:
        key.full_clean()
        key.save(update_fields=changed)
    if roles is not None and _set_roles(key, roles):
        changed.append("roles")
    if changed:
        target = f"api_key:{key.key_id}"
        record("api_key.updated", actor=actor.audit_name, meta=meta, target=target, fields=changed)
    return bool(changed)


@transaction.atomic
def api_key_rotate(
    *, key: ApiKey, grace_seconds: int = 0, actor: Actor, meta: RequestMeta | None = None
) -> str:
    """A new secret for ``key``; the old one keeps working for ``grace_seconds`` (0: not at
    all). Returns the new full key, shown once."""
    if grace_seconds < 0:
        raise ValidationError({"grace_seconds": ["must not be negative"]})
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise ValidationError("a revoked key cannot be rotated")
    generations.bump("apikeys")
    secret = credentials.new_secret()
    if grace_seconds:
        key.previous_secret_hash = key.secret_hash
        key.previous_valid_until = datetime.now(UTC) + timedelta(seconds=grace_seconds)
    else:
        key.previous_secret_hash = ""
        key.previous_valid_until = None
    key.secret_hash = credentials.hash_secret(secret)
    key.save(update_fields=["secret_hash", "previous_secret_hash", "previous_valid_until"])
    record(
        "api_key.rotated",
        actor=actor.audit_name,
        meta=meta,
        target=f"api_key:{key.key_id}",
        grace_seconds=grace_seconds,
    )
    return credentials.assemble(key.key_id, secret)


@transaction.atomic
def api_key_revoke(
    *, key: ApiKey, actor: Actor, meta: RequestMeta | None = None, via: str = ""
) -> bool:
    """Revoke ``key`` and the access tokens exchanged for it; False if it already was."""
    generations.bump("apikeys")
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC), previous_secret_hash="", previous_valid_until=None
    )
    if not updated:
        return False
    minted = ApiKeyToken.objects.filter(key=key).values("access_token_id")
    get_access_token_model().objects.filter(pk__in=minted).delete()
    target = f"api_key:{key.key_id}"
    record("api_key.revoked", actor=actor.audit_name, meta=meta, target=target, via=via)
    return True


_last_marked: dict[str, float] = {}
_marked_lock = threading.Lock()


def api_key_mark_used(record: KeyRecord, *, moment: float, ip: str | None) -> None:
    """Record that the key was used: at most one write per key per ``LAST_USED_INTERVAL``.

    A process remembers when it last wrote for a key and skips until the interval passed; the
    UPDATE is conditional on the stored time being older, so many processes still write at most
    once per interval between them. Not cache-invalidating: the time is bookkeeping only.
    """
    with _marked_lock:
        last = _last_marked.get(record.key_id, record.last_used_at or 0.0)
        if moment - last < LAST_USED_INTERVAL:
            return
        _last_marked[record.key_id] = moment
    when = datetime.fromtimestamp(moment, tz=UTC)
    fields: dict[str, Any] = {"last_used_at": when}
    if ip is not None:
        fields["last_used_ip"] = ip
    threshold = when - timedelta(seconds=LAST_USED_INTERVAL)
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold), pk=record.pk
    ).update(**fields)


@transaction.atomic
def api_key_token_issue(
    *, auth: Authenticated, client: Client | None, lifetime: int, audiences: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """Mint the RFC 9068 access token of a token exchange and store it as DOT stores every
    access token (checksum only, so introspection and RFC 7009 revocation treat it alike),
    linked to the key so that revoking the key revokes it. Returns the token response body.

    ``roles`` are the key's effective roles; ``api_key`` names the key, so introspection and
    decisions keep resolving the token to the key's grant, not to its owner's. A user's key has
    no client: its ``client_id`` claim is ``api_key:<key id>``. ``aud`` is ``audiences`` (the
    registered APIs asked for, already checked: ``apikeys.exchange``), else the issuer.

    None when the key was revoked meanwhile: the key row is locked first, so a concurrent
    revocation either comes before (and this mints nothing) or after (and deletes this token).
    """
    record, owner = auth.record, auth.owner
    if not ApiKey.objects.select_for_update().filter(pk=record.pk, revoked_at=None).exists():
        return None
    issued = int(clock.now())
    expires = issued + lifetime
    if auth.valid_until is not None:
        expires = min(expires, int(auth.valid_until))
    claims = {
        "iss": settings.ISSUER_URL,
        "sub": owner.sub,
        "aud": list(audiences) or settings.ISSUER_URL,
        "exp": expires,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "client_id": owner.client_id or f"api_key:{record.key_id}",
        "scope": "",
        "roles": sorted(auth.grant.roles),
        "api_key": record.key_id,
    }
    token = tokens.sign(claims, algorithm=settings.ACCESS_TOKEN_ALGORITHM, typ="at+jwt")
    access_token = get_access_token_model()(
        user_id=record.user_id,
        application=client,
        scope="",
        expires=datetime.fromtimestamp(expires, tz=UTC),
        resource=list(audiences),
    )
    set_token_value(access_token, token)
    access_token.save()
    ApiKeyToken.objects.create(key_id=record.pk, access_token=access_token)
    return {
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": expires - issued,
    }
