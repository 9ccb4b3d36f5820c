"""Generation counters: explicit cache invalidation that works across processes.

Writers call ``bump(name)`` inside the transaction that changes the cached data. Readers call
``ProcessCache.get(key, load)``, which re-reads the counters at most once per request (one
indexed query over a handful of rows) and drops its entries when the counter moved. A change is
therefore visible to the next request in every process, with or without Redis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.core.signals import request_started
from django.db import connection
from django.db.models import F

T = TypeVar("T")

_local = threading.local()
_caches: list[ProcessCache] = []


def _reset(**kwargs: Any) -> None:
    _local.values = None


request_started.connect(_reset, dispatch_uid="oauth.generations.reset")


def current() -> dict[str, int]:
    """All counters, read once per request (and per thread)."""
    values = getattr(_local, "values", None)
    if values is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, value FROM oauth_generation")
            values = dict(cursor.fetchall())
        _local.values = values
    return values


def clear_all() -> None:
    """Forget every cached value (tests roll the counters back with the database)."""
    _local.values = None
    for cache in _caches:
        cache.clear()


def bump(name: str) -> None:
    """Advance ``name``; call inside the writer's transaction."""
    from oauth.models import Generation

    updated = Generation.objects.filter(name=name).update(value=F("value") + 1)
    if not updated:
        Generation.objects.get_or_create(name=name, defaults={"value": 1})
    _local.values = None


class ProcessCache:
    """A per-process dict keyed by anything, emptied when generation ``name`` moves."""

    def __init__(self, name: str, max_entries: int = 100_000) -> None:
        self.name = name
        self.max_entries = max_entries
        self._seen: int | None = None
        self._data: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def clear(self) -> None:
        with self._lock:
            self._data = {}
            self._seen = None

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        generation = current().get(self.name, 0)
        with self._lock:
            if generation != self._seen:
                self._data = {}
                self._seen = generation
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
