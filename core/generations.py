"""Generation counters: explicit cache invalidation that works across processes.

Writers call ``bump(name)`` inside the transaction that changes the cached data. Readers call
``ProcessCache.get(key, load)``, which looks at the counters at most once per request and drops
its entries when the counter moved. A change is therefore visible to the next request in every
process, with or without Redis.

Looking at the counters must not cost a query per request (it is on every hot path), so each
process learns that *some* counter moved from a change signal, and reads them only then:
- PostgreSQL: ``bump`` sends ``NOTIFY`` in the writer's transaction (delivered when it commits);
  each process keeps one ``LISTEN`` connection and, at the start of a request, checks its socket
  without blocking (one ``select``);
- SQLite (the embedded mode, one host): ``bump`` increments a change counter in a small
  memory-mapped file next to the database after its transaction commits; a reader compares it
  with the value it last saw.
On PostgreSQL a counter is kept in ``SHARDS`` rows (``name#k``): a request's bumps advance one
picked at random, and a reader sums them. A bump holds its row's lock until its transaction
commits, and the write paths of the token endpoint all advance ``access-tokens``: with one row,
every refresh queued behind the commit of the one before it. SQLite has one writer at a time
anyway: one row per counter there.
When the signal is unavailable (an in-memory database, a lost listening connection, which is
retried every few seconds) or ``GENERATIONS_SIGNAL=poll`` (the tests: their transactions never
commit), the counters are read once per request.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import secrets
import select
import struct
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import request_started
from django.db import connection, connections, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from core import clock

T = TypeVar("T")
CHANNEL = "authserver_generations"
_ADVANCE = (
    "INSERT INTO core_generation (name, value) VALUES (%s, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = core_generation.value + 1"
)
SHARDS = 16  # rows per counter on PostgreSQL
_MARK = "#"  # between a counter's name and its shard's number
RETRY_SECONDS = 5.0

log = logging.getLogger(__name__)
_local = threading.local()
_caches: list[ProcessCache] = []
# The counters as last read by this process, with the change signal's token at that read.
_known: tuple[int, dict[str, int]] | None = None


def _reset(**kwargs: Any) -> None:
    _local.values = None
    _local.shard = None


request_started.connect(_reset, dispatch_uid="core.generations.reset")


class SharedCounter:
    """SQLite: an 8-byte change counter in a file every local process maps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 8:
                os.ftruncate(fd, 8)
            self._map = mmap.mmap(fd, 8)
        finally:
            os.close(fd)

    def token(self) -> int | None:
        """The change counter: it moves after every committed ``bump``."""
        return int(struct.unpack_from("<Q", self._map, 0)[0])

    def increment(self) -> None:
        with self.path.open("rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # across processes; released on close
            struct.pack_into("<Q", self._map, 0, int(self.token() or 0) + 1)

    def announce(self, name: str) -> None:
        transaction.on_commit(self.increment)


class Listener:
    """PostgreSQL: a ``LISTEN`` connection of this process, polled without blocking."""

    def __init__(self) -> None:
        self._conn: Any = None
        self._retry_at = 0.0
        self._seq = 0  # moves when notifications arrive, and at every (re)connection

    def _connect(self) -> None:
        params = connections["default"].get_connection_params()
        params["autocommit"] = True
        conn = connections["default"].Database.connect(**params)
        conn.execute(f"LISTEN {CHANNEL}")
        self._conn = conn

    def token(self) -> int | None:
        """Moves whenever a notification arrived since the last call; None while not
        listening (every counter change may have been missed)."""
        if self._conn is None:
            if clock.monotonic() < self._retry_at:
                return None
            try:
                self._connect()
            except Exception:  # noqa: BLE001 - any failure means: read the counters instead
                self._broken("cannot listen")
                return None
            self._seq += 1  # listening from now on: read once, then only on notifications
            return self._seq
        try:
            readable, _, _ = select.select([self._conn.fileno()], [], [], 0)
            if readable:
                pgconn = self._conn.pgconn
                pgconn.consume_input()
                while pgconn.notifies() is not None:
                    pass
                if self._conn.closed:
                    raise ConnectionError("listening connection closed")
                self._seq += 1
        except Exception:  # noqa: BLE001
            self._broken("lost the listening connection")
            return None
        return self._seq

    def _broken(self, why: str) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing a broken connection: # noqa: BLE001, S110  # nosec B110
                pass
        self._conn = None
        self._retry_at = clock.monotonic() + RETRY_SECONDS
        log.warning("generations: %s; reading the counters on every request meanwhile", why)

    def bump(self, name: str) -> None:
        """Advance counter ``name`` and announce it in one statement (a round trip less on
        every write path that bumps)."""
        update, announce = bump_statement(name)
        sql = f"WITH bumped AS ({update[0]}) SELECT {announce[0]}"  # noqa: S608  # nosec B608
        with connection.cursor() as cursor:
            cursor.execute(sql, [*update[1], *announce[1]])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_signals: dict[int, SharedCounter | Listener | None] = {}  # per process (pid)


def _signal() -> SharedCounter | Listener | None:
    pid = os.getpid()
    try:
        return _signals[pid]
    except KeyError:
        pass
    signal: SharedCounter | Listener | None = None
    if connection.vendor == "postgresql":
        signal = Listener()
    elif connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if name and ":memory:" not in name and "mode=memory" not in name:
            signal = SharedCounter(Path(f"{name}.generations"))
    _signals.clear()  # a forked child does not use its parent's connection or map
    _signals[pid] = signal
    return signal


def stop_listening() -> None:
    """Close this process's listening connection, if any (it is opened again when needed)."""
    for signal in _signals.values():
        if isinstance(signal, Listener):
            signal.close()


def _read() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, value FROM core_generation")
        rows = cursor.fetchall()
    values: dict[str, int] = {}
    for row_name, value in rows:
        name = row_name.partition(_MARK)[0]
        values[name] = values.get(name, 0) + value
    return values


def _row(name: str) -> str:
    """The row a bump of counter ``name`` advances: on PostgreSQL one of its shards, the same
    one for every bump of a request (picked at random at its first), so that a transaction
    that bumps twice holds one row, as it did before the counters were sharded; two that each
    took two shards in opposite orders would deadlock."""
    if connection.vendor != "postgresql":
        return name
    shard = getattr(_local, "shard", None)
    if shard is None:
        shard = _local.shard = secrets.randbelow(SHARDS)
    return f"{name}{_MARK}{shard}"


def current() -> dict[str, int]:
    """All counters, as of the start of this request (looked at once per request)."""
    global _known
    values = getattr(_local, "values", None)
    if values is None:
        signal = None if settings.GENERATIONS_SIGNAL == "poll" else _signal()
        token = None if signal is None else signal.token()
        known = _known
        if token is not None and known is not None and known[0] == token:
            values = known[1]
        else:
            values = _read()  # after taking the token: a later change moves the token again
            if token is not None:
                _known = (token, values)
        _local.values = values
    return values


ANY = "*"  # the name of a ProcessCache emptied when any counter moves


_version: tuple[dict[str, int], tuple[tuple[str, int], ...]] | None = None


def version() -> tuple[tuple[str, int], ...]:
    """All counters as one value, which moves when any of them does (built once per reading
    of the counters, which requests share while no counter moves)."""
    global _version
    values = current()
    known = _version
    if known is None or known[0] is not values:
        known = _version = (values, tuple(sorted(values.items())))
    return known[1]


def clear_all() -> None:
    """Forget every cached value (tests roll the counters back with the database)."""
    global _known
    _local.values = None
    _known = None
    for cache in _caches:
        cache.clear()


def bump(name: str) -> None:
    """Advance ``name``; call inside the writer's transaction."""
    signal = _signal()
    if isinstance(signal, Listener):
        signal.bump(name)  # the increment and its NOTIFY: one statement
    else:
        with connection.cursor() as cursor:  # the ORM's update costs 0.2 ms more a write
            cursor.execute(_ADVANCE, [_row(name)])
        if signal is not None:
            signal.announce(name)
    bumped(name)


Statement = tuple[str, list[Any]]


def bump_statement(name: str) -> tuple[Statement, Statement]:
    """PostgreSQL: the upsert that advances counter ``name`` (for a data-modifying CTE) and the
    select expression that announces it, for a writer that folds the bump into its own
    statement; then ``bumped(name)`` after it."""
    return (
        (f"{_ADVANCE} RETURNING 1", [_row(name)]),
        ("pg_notify(%s, %s)", [CHANNEL, name]),
    )


def folds_bumps() -> bool:
    """Whether a writer may fold its bump into its own statement (``bump_statement``)."""
    return isinstance(_signal(), Listener)


def bumped(name: str) -> None:
    """Counter ``name`` was advanced in this request (by ``bump`` or in a writer's own
    statement): the rest of the request sees it moved (this process's caches of ``name`` are
    emptied) without reading every counter again; the next request reads them."""
    values = getattr(_local, "values", None)
    _local.values = None if values is None else {**values, name: values.get(name, 0) + 1}


def bump_on_change(
    model: type[Model], name: str, *, saves: bool = True, watched: frozenset[str] | None = None
) -> None:
    """Bump ``name`` whenever a ``model`` row is deleted or (``saves``) saved, unless a save
    names only fields outside ``watched``. Model signals: no code path of the application can
    forget; a change made behind the ORM (SQL, ``QuerySet.update``) sends none."""

    def changed(update_fields: Any = None, **kwargs: Any) -> None:
        if watched is not None and update_fields is not None and not watched & set(update_fields):
            return
        bump(name)

    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"generations:{name}:d")
    if saves:
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"generations:{name}:s")


class ProcessCache:
    """A per-process dict keyed by anything, emptied when generation ``name`` moves.

    ``max_age`` (seconds) also empties it that often: for data whose writers are model signals,
    a change made behind the application's back (SQL, ``QuerySet.update``) is then still seen
    within that time.
    """

    def __init__(self, name: str, max_entries: int = 100_000, max_age: float | None = None) -> None:
        self.name = name
        self.max_entries = max_entries
        self.max_age = max_age
        self._seen: Hashable | None = None
        self._data: dict[Hashable, Any] = {}
        self._filled_at = 0.0
        self._lock = threading.Lock()
        _caches.append(self)

    def clear(self) -> None:
        with self._lock:
            self._data = {}
            self._seen = None

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def _expired(self) -> bool:
        return self.max_age is not None and clock.monotonic() - self._filled_at > self.max_age

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        generation = version() if self.name == ANY else current().get(self.name, 0)
        if generation == self._seen and not self._expired():
            # A hit takes no lock: writers replace ``_data`` before ``_seen``, so a value found
            # here was stored for this generation or a later one.
            try:
                return self._data[key]
            except KeyError:
                pass
        with self._lock:
            if generation != self._seen or self._expired():
                self._data = {}
                self._seen = generation
                self._filled_at = clock.monotonic()
            try:
                return self._data[key]
            except KeyError:
                pass
        value = load()
        with self._lock:
            if self._seen == generation:
                if len(self._data) >= self.max_entries:
                    self._data.clear()
                self._data[key] = value
        return value
