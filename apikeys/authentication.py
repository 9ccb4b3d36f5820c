"""Who a presented API key is: the identity step of ``apikeys.policy.check``.

On a warm cache this is a few dict lookups, one HMAC and a few comparisons, and no query. A key
is itself when its secret matches the current hash, or the previous one inside a rotation's
grace period (``hmac.compare_digest`` both ways), it is neither revoked nor expired and its
owner is active. Where it is presented from and how often are the policy's to judge
(``apikeys.policy``), once for every door.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.core.cache import cache

from apikeys import credentials
from apikeys.selectors import KeyRecord, Owner, active_owner, key_grant, key_record
from audit.models import AuditEvent
from audit.services import record as audit_record
from core import clock
from oauth.introspection import cached_answer
from roles import policy

# At most one audit line per key and kind of refusal per window, so a leaked revoked key being
# hammered cannot flood the audit log.
AUDIT_WINDOW = 60


@dataclass(frozen=True)
class Authenticated:
    record: KeyRecord
    owner: Owner
    grant: policy.Grant
    valid_until: float | None  # the key's expiry, or the grace end when the old secret was used


def secret_validity(record: KeyRecord, secret: str, moment: float) -> tuple[bool, float | None]:
    """Whether ``secret`` is the key's (current, or previous within its grace period), and
    until when it is valid. Compared in constant time."""
    digest = credentials.hash_secret(secret)
    if hmac.compare_digest(digest, record.secret_hash):
        return True, record.expires_at
    grace = record.previous_valid_until
    if (
        record.previous_secret_hash
        and grace is not None
        and grace > moment
        and hmac.compare_digest(digest, record.previous_secret_hash)
    ):
        return True, grace if record.expires_at is None else min(grace, record.expires_at)
    return False, None


def audit_refusal(record: KeyRecord, event: str, ip: str | None, **data: object) -> None:
    """Audit a refused use of a verified key, at most once per key and event per window."""
    if cache.add(f"apikeys:audited:{event}:{record.key_id}", 1, timeout=AUDIT_WINDOW):
        audit_record(
            event,
            target=f"api_key:{record.key_id}",
            outcome=AuditEvent.Outcome.DENIED,
            client_id=record.client_id or "",
            ip=ip,
            **data,
        )


def authenticate(value: object, *, client_ip: str | None = None) -> Authenticated | None:
    """The key ``value`` if it is itself and live now, else None (the caller never learns why).

    ``client_ip``: the holder's address where known, for the audit line of a revoked key only.
    The owner and the key's grant are cached per key as introspection answers are
    (``cached_answer``: computed again when any generation moves, so on any change to the key,
    its owner or roles, when any role assignment of anyone, this key included, expires, and at
    least every minute); expiry, revocation and the secret are checked on every call.
    """
    presented = credentials.parse(value)
    if presented is None:
        return None
    record = key_record(presented.key_id)
    moment = clock.now()
    if record is None:
        return None
    matches, valid_until = secret_validity(record, presented.secret, moment)
    if not matches:
        return None
    if record.revoked_at is not None:
        audit_refusal(record, "api_key.used_after_revoke", client_ip)
        return None
    if record.expired(moment):
        return None
    holder = cached_answer(("api-key-holder", record.pk), lambda: _holder(record))
    if holder is None:
        return None
    return Authenticated(record, holder[0], holder[1], valid_until)


def _holder(record: KeyRecord) -> tuple[Owner, policy.Grant] | None:
    owner = active_owner(record)
    return None if owner is None else (owner, key_grant(record, owner))
