"""Audit export and retention (run by Celery beat, see audit/tasks.py).

- ``export_day(day)`` writes every event of one UTC day, sealed, as JSON lines to
  ``AUDIT_EXPORT_DIR/audit-YYYY-MM-DD.jsonl`` (written to a temporary file, then renamed: a
  rerun rewrites the same file with the same content). Rows keep ``prev_hash``/``hash``, so an
  archive can be checked against the chain.
- ``purge(now)`` exports, then deletes, sealed events older than ``AUDIT_RETENTION_DAYS``. It
  records an ``audit.retention`` event holding the hash of the last deleted row: ``verify()``
  starts the chain there, so a purge is told apart from tampering (deleting rows any other way
  still breaks the chain).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import RETENTION_EVENT, event_fields, record, seal


@dataclass(frozen=True)
class Purged:
    deleted: int
    exported_days: tuple[str, ...]


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def export_path(day: date) -> Path:
    return Path(settings.AUDIT_EXPORT_DIR) / f"audit-{day.isoformat()}.jsonl"


def _line(row: AuditEvent) -> str:
    fields = {**event_fields(row), "prev_hash": row.prev_hash, "hash": row.hash}
    return json.dumps(fields, sort_keys=True, default=str)


def export_day(day: date) -> Path:
    """Write the day's events (sealing first) and return the file; idempotent."""
    seal()
    path = export_path(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    start, end = _day_bounds(day)
    rows = AuditEvent.objects.filter(ts__gte=start, ts__lt=end).order_by("id")
    partial = path.with_suffix(".jsonl.partial")
    with partial.open("w", encoding="utf-8") as out:
        for row in rows.iterator(chunk_size=2000):
            out.write(_line(row) + "\n")
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
    return path


def purge(*, now: datetime | None = None) -> Purged:
    """Export and delete sealed events older than the retention period; idempotent."""
    now = now or timezone.now()
    seal()
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    old = AuditEvent.objects.filter(ts__lt=cutoff).exclude(hash="")
    days = sorted({ts.date() for ts in old.values_list("ts", flat=True).distinct()})
    for day in days:
        export_day(day)
    with transaction.atomic():
        last = old.order_by("-id").first()
        if last is None:
            return Purged(deleted=0, exported_days=())
        # The chain is contiguous in id order: delete the prefix up to the newest old row.
        deleted, _ = AuditEvent.objects.filter(pk__lte=last.pk).exclude(hash="").delete()
        record(
            RETENTION_EVENT,
            actor="system",
            deleted=deleted,
            through_id=last.pk,
            last_hash=last.hash,
            retention_days=settings.AUDIT_RETENTION_DAYS,
        )
    return Purged(deleted=deleted, exported_days=tuple(d.isoformat() for d in days))
