"""``record()``: the one entry point for security events; ``seal()`` and ``verify()``.

``record`` inserts a row in the caller's transaction (so the event exists exactly when the
change does) and writes one JSON log line. It takes no lock: chaining is done by ``seal()``,
which runs in Celery beat (and before ``verify_audit``), so concurrent requests never queue on
the audit chain. Payloads are cleansed of anything that looks like a secret.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import batch
from audit.models import AuditEvent
from core.request_meta import RequestMeta, request_meta

log = logging.getLogger("authserver.audit")

# Written by audit.retention.purge; holds the hash the remaining chain starts from.
RETENTION_EVENT = "audit.retention"
SENSITIVE = ("password", "secret", "token", "code", "key", "otp", "assertion", "authorization")
_SENSITIVE = re.compile("|".join(SENSITIVE), re.IGNORECASE)


LOGGED = ("outcome", "actor", "target", "client_id", "ip", "request_id", "data")


@functools.lru_cache(maxsize=1024)
def _names_a_secret(key: str) -> bool:
    return _SENSITIVE.search(key) is not None  # keys are the callers' names: a bounded set


def text(value: Any) -> Any:
    """``value`` with NUL characters replaced (U+FFFD) if it is a string: PostgreSQL's text and
    jsonb refuse them, and a client may send one (``grant_type=%00``)."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def cleanse(data: dict[str, Any]) -> dict[str, Any]:
    """Replace values whose key names a secret (authentik's cleanse_dict idea), and NULs."""
    clean: dict[str, Any] = {}
    for key, value in data.items():
        key = text(key)
        if _names_a_secret(key):
            clean[key] = "********"
        elif isinstance(value, dict):
            clean[key] = cleanse(value)
        elif isinstance(value, list | tuple):
            clean[key] = [text(item) for item in value]
        else:
            clean[key] = text(value)
    return clean


def client_ip(request: HttpRequest | None) -> str | None:
    return request_meta(request).ip


def record(
    event: str,
    *,
    actor: str = "",
    target: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    meta: RequestMeta | None = None,
    request: HttpRequest | Any | None = None,
    client_id: str = "",
    deferred: bool = False,
    **data: Any,
) -> AuditEvent | None:
    """Store one event and log it as one JSON line; returns the stored row (None when
    deferred).

    ``meta`` is who sent the request (``core.request_meta``); callers that hold only a request
    (a Django one, or the oauthlib request inside DOT's endpoints) pass ``request`` instead and
    its ``RequestMeta`` is read from it. ``deferred`` events (the hot paths') are stored in
    batches after the response (``audit.batch``); the others in the caller's transaction.
    """
    if meta is None:
        meta = request_meta(request)
    fields: dict[str, Any] = {
        "ts": timezone.now(),
        "event": event,
        "outcome": str(outcome),
        "actor": text(str(actor))[:255],
        "target": text(str(target))[:255],
        "client_id": text(str(client_id))[:255],
        "ip": meta.ip,
        "user_agent": text(meta.user_agent)[:512],
        "request_id": text(meta.request_id)[:64],
        "data": cleanse(data),
    }
    row = None
    if deferred and settings.AUDIT_BATCH_EVENTS > 1:
        transaction.on_commit(lambda: batch.add(fields))  # only what the transaction kept
    else:
        row = AuditEvent.objects.create(**fields)
    if log.isEnabledFor(logging.INFO):
        line = {"audit": event, **{k: fields[k] for k in LOGGED}, "ts": fields["ts"].isoformat()}
        log.info(json.dumps(line, default=str))
    return row


def event_fields(row: AuditEvent) -> dict[str, Any]:
    """What an event says (everything but its chain hashes): hashed, and exported."""
    return {
        "id": row.pk,
        "ts": row.ts.isoformat(),
        "event": row.event,
        "outcome": row.outcome,
        "actor": row.actor,
        "target": row.target,
        "client_id": row.client_id,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "request_id": row.request_id,
        "data": row.data,
    }


def _content(row: AuditEvent) -> str:
    return json.dumps(event_fields(row), sort_keys=True, default=str)


def chain_hash(row: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{_content(row)}".encode()).hexdigest()


def seal(batch: int = 5000) -> int:
    """Chain every unsealed row, oldest first; returns how many were sealed."""
    sealed = 0
    with transaction.atomic():
        last = AuditEvent.objects.select_for_update().exclude(hash="").order_by("-id").first()
        prev = last.hash if last else _chain_start()  # a purge may have removed every row
        start = last.pk if last else 0
        rows = list(AuditEvent.objects.filter(pk__gt=start, hash="").order_by("id")[:batch])
        for row in rows:
            row.prev_hash = prev
            row.hash = chain_hash(row, prev)
            prev = row.hash
        AuditEvent.objects.bulk_update(rows, ["prev_hash", "hash"])
        sealed = len(rows)
    return sealed


@dataclass(frozen=True)
class Verification:
    checked: int
    unsealed: int
    broken_at: int | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _chain_start() -> str:
    """The hash before the oldest kept row: empty, or the last one a retention purge deleted."""
    anchor = AuditEvent.objects.filter(event=RETENTION_EVENT).order_by("-id").first()
    return str(anchor.data.get("last_hash", "")) if anchor else ""


def verify() -> Verification:
    """Walk the sealed chain in id order; report the first row whose hash does not hold."""
    prev = _chain_start()
    checked = 0
    for row in AuditEvent.objects.exclude(hash="").order_by("id").iterator(chunk_size=2000):
        if row.prev_hash != prev or chain_hash(row, prev) != row.hash:
            return Verification(checked=checked, unsealed=0, broken_at=row.pk)
        prev = row.hash
        checked += 1
    unsealed = AuditEvent.objects.filter(hash="").count()
    return Verification(checked=checked, unsealed=unsealed, broken_at=None)


def delete_recorded(
    instance: models.Model,
    event: str,
    *,
    actor: str,
    target: str,
    meta: RequestMeta | None = None,
) -> dict[str, int]:
    """Delete ``instance`` with its cascades and record ``event`` saying what went
    (``removed: ["oauth2_provider.AccessToken: 2", ...]``), in the caller's transaction.
    Returns the rows removed by model label, the instance's own included."""
    _, counts = instance.delete()
    removed = {label: count for label, count in sorted(counts.items()) if count}
    lines = [f"{label}: {count}" for label, count in removed.items()]
    record(event, actor=actor, target=target, meta=meta, removed=lines)
    return removed
