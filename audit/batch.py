"""Deferred audit rows for the hot paths: written in batches, after the response.

``record(..., deferred=True)`` is for the events a busy deployment has hundreds of per second
(tokens issued, refreshed and revoked, introspection and decision denials). Their JSON log line
is written at once, like every event's; their row joins a per-process batch that is stored with
one multi-row INSERT when it holds ``AUDIT_BATCH_EVENTS`` rows, or when its oldest row is
``AUDIT_BATCH_SECONDS`` old: checked when a response has been sent (``request_finished``), and
by a timer thread so a quiet process does not sit on its rows. A worker that exits flushes
(``atexit``); one killed with SIGKILL loses at most one batch of rows, which its log lines still
carry. ``AUDIT_BATCH_EVENTS = 1`` writes each row at once (the tests do).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent

log = logging.getLogger("authserver.audit")
MAX_PENDING = 50_000  # rows kept while the database cannot take them

_lock = threading.Lock()
_pending: list[dict[str, Any]] = []
_oldest = 0.0
_timer: threading.Timer | None = None


def add(row: dict[str, Any]) -> None:
    """Store ``row`` (the fields of an ``AuditEvent``) with the next batch."""
    global _oldest, _timer
    with _lock:
        if not _pending:
            _oldest = time.monotonic()
        if len(_pending) < MAX_PENDING:
            _pending.append(row)
        full = len(_pending) >= settings.AUDIT_BATCH_EVENTS
        if _timer is None and not full:
            _timer = threading.Timer(settings.AUDIT_BATCH_SECONDS, _on_timer)
            _timer.daemon = True
            _timer.start()


def pending() -> int:
    return len(_pending)


def flush() -> int:
    """Write every pending row; returns how many were written."""
    global _timer
    with _lock:
        rows = _pending[:]
        _pending.clear()
        timer, _timer = _timer, None
    if timer is not None and timer is not threading.current_thread():
        timer.cancel()
    if not rows:
        return 0
    try:
        _insert(rows)
    except DatabaseError:
        log.exception("audit: %d deferred rows could not be stored; keeping them", len(rows))
        with _lock:
            _pending[:0] = rows[: MAX_PENDING - len(_pending)]
        return 0
    return len(rows)


COLUMNS = (
    "ts",
    "event",
    "outcome",
    "actor",
    "target",
    "client_id",
    "ip",
    "user_agent",
    "request_id",
    "data",
    "prev_hash",
    "hash",
)


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    """The row's values in ``COLUMNS`` order, the chain hashes empty (``audit.services.seal``
    fills them later)."""
    ts = connection.ops.adapt_datetimefield_value(row["ts"])
    data = json.dumps(row["data"], default=str)
    return (ts, *(row[name] for name in COLUMNS[1:-3]), data, "", "")


def _insert(rows: list[dict[str, Any]]) -> None:
    """Store the rows in one transaction: PostgreSQL's ``COPY`` (a third of the CPU and half
    the time of an INSERT per row, measured), else ``executemany``. The ORM's ``bulk_create``
    spends more on preparing each field than the database spends storing the row."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The commit does not wait for the WAL flush (a disk sync per batch held the worker
            # and whatever queued behind it): a database crash may lose the last fraction of a
            # second of batches, as a killed worker loses its pending one; the JSON log lines
            # were written at once. (SQLite runs WAL with synchronous=NORMAL: no sync either.)
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # Only names from model metadata are interpolated; the rows are streamed as data.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(_values(row))
            return
        marks = ", ".join(["%s"] * len(COLUMNS))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608
        cursor.executemany(sql, [_values(row) for row in rows])


def flush_if_due(**kwargs: Any) -> None:
    """``request_finished`` receiver: the response is out (requests queued for this worker
    wait, so the write is one statement without a disk sync)."""
    if _pending and (
        len(_pending) >= settings.AUDIT_BATCH_EVENTS
        or time.monotonic() - _oldest >= settings.AUDIT_BATCH_SECONDS
    ):
        flush()


def _on_timer() -> None:
    try:
        flush()
    finally:
        connection.close()  # this thread's own connection


atexit.register(flush)
