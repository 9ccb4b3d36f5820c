"""Deferred audit rows for the hot paths: spooled before the response, stored in batches after.

``record(..., deferred=True)`` is for the events a busy deployment has hundreds of per second
(tokens issued, refreshed and revoked, introspection and decision denials). Their JSON log line
is written at once, like every event's; their row is appended (one ``write(2)``, no sync) to
this process's spool file in ``AUDIT_SPOOL_DIR`` when its transaction commits, before the
response, and joins a per-process batch that is stored with one multi-row INSERT when it holds
``AUDIT_BATCH_EVENTS`` rows, or when its oldest row is ``AUDIT_BATCH_SECONDS`` old: checked when
a response has been sent (``request_finished``), and by a timer thread so a quiet process does
not sit on its rows. A worker that exits flushes (``atexit``). ``AUDIT_BATCH_EVENTS = 1`` writes
each row at once (the tests do).

Crash safety: a spool file is deleted only once its rows are committed, and each process holds
an ``flock`` on its own files, which the kernel releases when the process dies however it dies.
``ingest_spools()`` stores the rows of every unlocked (orphaned) spool file: each process runs
it on its first request and every ``AUDIT_SPOOL_SCAN_SECONDS``, and so does the seal task. Every
row carries a unique ``event_id``, so a file ingested twice stores nothing twice. A killed worker
thus loses no row; a machine crash loses what the kernel had not written back: the rows not yet
stored (at most ``AUDIT_BATCH_SECONDS`` old; while the database is down the spool is synced once
an interval) and PostgreSQL's asynchronous-commit window.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent

log = logging.getLogger("authserver.audit")
MAX_PENDING = 50_000  # rows kept in memory while the database cannot take them (the spool
# keeps the rest, for ingest_spools)
FAILURE_LOG_SECONDS = 60.0  # one log line per failure kind per this interval
SUFFIX = ".jsonl"
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))  # built once: 6 us a row


@dataclass
class _Spool:
    """An open spool file this process appends to (and holds an exclusive ``flock`` on)."""

    fd: int
    path: Path
    pid: int
    complete: bool = True  # False once a row written here was not kept in memory

    def close(self, *, delete: bool) -> None:
        if delete:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self.fd)


_lock = threading.Lock()
_pending: list[dict[str, Any]] = []
_oldest = 0.0
_timer: threading.Timer | None = None
_spool: _Spool | None = None  # the file new rows are appended to
_held: list[_Spool] = []  # earlier files whose rows are pending (a write failed)
_retry_at = 0.0
_synced_at = -1e9
_next_scan = 0.0
_scanning = threading.Lock()
_failures: dict[tuple[str, str], tuple[float, int]] = {}


def report_failure(what: str, exc: BaseException, detail: str = "") -> None:
    """Log a failure once per kind (``what`` and the exception's class) per
    ``FAILURE_LOG_SECONDS``, with how many more of it there were since: an outage gives a few
    lines, not a traceback per request."""
    key = (what, type(exc).__name__)
    now = time.monotonic()
    logged_at, repeats = _failures.get(key, (-FAILURE_LOG_SECONDS, 0))
    if now - logged_at < FAILURE_LOG_SECONDS:
        _failures[key] = (logged_at, repeats + 1)
        return
    _failures[key] = (now, 0)
    since = f"; {repeats} more since the last report" if repeats else ""
    log.error("audit: %s failed (%s: %s)%s%s", what, key[1], exc, detail, since)


def _open_spool() -> _Spool | None:
    """A new spool file, locked before it is given its name (``ingest_spools`` never sees it
    unlocked), or None when the directory cannot be written (rows then live in memory only)."""
    directory = Path(settings.AUDIT_SPOOL_DIR)
    name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = directory / f"{name}.new"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = directory / f"{name}{SUFFIX}"
        os.rename(temporary, path)
    except OSError as exc:
        report_failure("opening the spool", exc, f" in {directory}; rows kept in memory only")
        return None
    return _Spool(fd=fd, path=path, pid=os.getpid())


def _spool_line(row: dict[str, Any]) -> bytes:
    return (_ENCODER.encode(row) + "\n").encode()


def add(row: dict[str, Any]) -> None:
    """Spool ``row`` (the fields of an ``AuditEvent``) and store it with the next batch."""
    global _oldest, _timer, _spool
    row = {**row, "event_id": os.urandom(16).hex()}  # a random UUID's 128 bits, cheaper
    line = _spool_line(row)
    with _lock:
        if _spool is not None and _spool.pid != os.getpid():
            _spool = None  # inherited over a fork: the parent's file and lock
        if _spool is None:
            _spool = _open_spool()
        if _spool is not None:
            try:
                os.write(_spool.fd, line)
            except OSError as exc:
                report_failure("writing the spool", exc)
        if not _pending:
            _oldest = time.monotonic()
        if len(_pending) < MAX_PENDING:
            _pending.append(row)
        elif _spool is not None:
            _spool.complete = False
        full = len(_pending) >= settings.AUDIT_BATCH_EVENTS
        if _timer is None and not full:
            _start_timer()


def _start_timer() -> None:
    global _timer
    _timer = threading.Timer(settings.AUDIT_BATCH_SECONDS, _on_timer)
    _timer.daemon = True
    _timer.start()


def pending() -> int:
    return len(_pending)


def flush() -> int:
    """Write every pending row; returns how many were written. Their spool files are deleted
    once the rows are committed (kept, and synced, when the write fails)."""
    global _timer, _spool, _retry_at
    with _lock:
        rows = _pending[:]
        _pending.clear()
        spools = [*_held, *([_spool] if _spool is not None else [])]
        _held.clear()
        _spool = None
        timer, _timer = _timer, None
    if timer is not None and timer is not threading.current_thread():
        timer.cancel()
    try:
        if rows:
            _insert(rows)
    except Exception as exc:  # whatever the driver raises (psycopg's own errors too): keep them
        _keep(rows, spools)
        report_failure("storing deferred rows", exc, "; kept in the spool, retrying")
        return 0
    _retry_at = 0.0
    for spool in spools:
        spool.close(delete=spool.complete)  # an incomplete one is left to ingest_spools
    return len(rows)


def _keep(rows: list[dict[str, Any]], spools: list[_Spool]) -> None:
    """After a failed write: the rows back in front, their files held (and synced at most once
    an interval, so a machine crash during a database outage loses at most the last interval),
    a retry scheduled."""
    global _retry_at, _synced_at
    if time.monotonic() - _synced_at >= settings.AUDIT_BATCH_SECONDS:
        _synced_at = time.monotonic()
        for spool in spools:
            with contextlib.suppress(OSError):
                os.fdatasync(spool.fd)
    with _lock:
        room = MAX_PENDING - len(_pending)
        if len(rows) > room:
            for spool in spools:
                spool.complete = False
        _pending[:0] = rows[: max(room, 0)]
        _held[:0] = spools
        _retry_at = time.monotonic() + settings.AUDIT_BATCH_SECONDS
        if _timer is None:
            with contextlib.suppress(RuntimeError):  # no new thread at interpreter exit
                _start_timer()


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
    "event_id",
    "prev_hash",
    "hash",
)


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    """The row's values in ``COLUMNS`` order, the chain hashes empty (``audit.services.seal``
    fills them later)."""
    ts = connection.ops.adapt_datetimefield_value(row["ts"])
    data = json.dumps(row["data"], default=str)
    event_id = AuditEvent._meta.get_field("event_id").get_db_prep_value(
        uuid.UUID(row["event_id"]), connection
    )
    return (ts, *(row[name] for name in COLUMNS[1:-4]), data, event_id, "", "")


def _insert(rows: list[dict[str, Any]], *, idempotent: bool = False) -> None:
    """Store the rows in one transaction: PostgreSQL's ``COPY`` (a third of the CPU and half
    the time of an INSERT per row, measured), else ``executemany``. The ORM's ``bulk_create``
    spends more on preparing each field than the database spends storing the row.
    ``idempotent``: rows whose ``event_id`` is stored already are skipped (spool ingestion)."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The commit does not wait for the WAL flush (a disk sync per batch held the worker
            # and whatever queued behind it): a database crash may lose the last fraction of a
            # second of batches; the JSON log lines were written at once. (SQLite runs WAL with
            # synchronous=NORMAL: no sync either.)
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if connection.vendor == "postgresql" and not idempotent:
            # Only names from model metadata are interpolated; the rows are streamed as data.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(_values(row))
            return
        marks = ", ".join(["%s"] * len(COLUMNS))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608
        if idempotent:
            sql += " ON CONFLICT (event_id) DO NOTHING"
        cursor.executemany(sql, [_values(row) for row in rows])


def _read_spool(fd: int, path: Path) -> list[dict[str, Any]]:
    """The rows of a spool file; a line cut short (a machine crash mid-write) is skipped."""
    rows = []
    with os.fdopen(os.dup(fd), "rb") as spool:
        for number, line in enumerate(spool, 1):
            try:
                row = json.loads(line)
                row["ts"] = datetime.fromisoformat(row["ts"])
            except (ValueError, KeyError, TypeError) as exc:
                report_failure("reading a spool line", exc, f" ({path.name}:{number}); skipped")
                continue
            rows.append(row)
    return rows


def ingest_spools() -> int:
    """Store the rows of every orphaned spool file (its process ended before storing them),
    then delete the file; returns how many rows were read. Files still locked by a living
    process are left to it; a file ingested twice stores each row once (``event_id``)."""
    directory = Path(settings.AUDIT_SPOOL_DIR)
    read = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # its writer stored and deleted it meanwhile
        except OSError as exc:
            report_failure("opening a spool", exc, f" ({path.name})")
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process lives and will store it
            rows = _read_spool(fd, path)
            for start in range(0, len(rows), 5000):
                _insert(rows[start : start + 5000], idempotent=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            read += len(rows)
        except (DatabaseError, OSError) as exc:  # one bad file must not hold up the others
            report_failure("ingesting a spool", exc, f" ({path.name}); kept for the next scan")
        finally:
            os.close(fd)
    if read:
        log.info("audit: %d spooled rows of ended processes ingested", read)
    return read


def flush_if_due(**kwargs: Any) -> None:
    """``request_finished`` receiver: the response is out (requests queued for this worker
    wait, so the write is one statement without a disk sync). A failed write is retried after
    ``AUDIT_BATCH_SECONDS``, not on every request; orphaned spools are ingested on a process's
    first request and then every ``AUDIT_SPOOL_SCAN_SECONDS``."""
    global _next_scan
    now = time.monotonic()
    if (
        _pending
        and now >= _retry_at
        and (
            len(_pending) >= settings.AUDIT_BATCH_EVENTS
            or now - _oldest >= settings.AUDIT_BATCH_SECONDS
        )
    ):
        flush()
    if now >= _next_scan and settings.AUDIT_BATCH_EVENTS > 1 and _scanning.acquire(False):
        try:
            _next_scan = now + settings.AUDIT_SPOOL_SCAN_SECONDS
            ingest_spools()
        finally:
            _scanning.release()


def _on_timer() -> None:
    try:
        flush()
    finally:
        connection.close()  # this thread's own connection


atexit.register(flush)
