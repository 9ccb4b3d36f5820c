"""A Redis cache that fails soft: during a Redis outage, the database cache stands in.

Nothing we keep in the cache is the system of record (tokens, clients and keys live in the
database), so losing Redis must not fail requests. On the first Redis error the backend logs
one clear line and serves from ``core.cache.DatabaseCache``; it probes Redis again every
``RETRY_SECONDS`` (never paying a connection timeout per call meanwhile) and logs once more when
Redis is back. The stand-in is shared by every worker and instance and atomic (the embedded
mode's cache), so counters kept in the cache (sign-in and client-authentication throttles,
abuse counters, rate limits, replay markers) keep counting once for all while Redis is down; a
per-process stand-in let each worker count alone (a blocked account signed in 10 times of 10).
Entries written during the outage are not copied back: they expire; the throttles' blocks are
in the database in every mode (``core.limits``), so none is lost either way.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from core.cache import DatabaseCache

log = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 5.0
# Django's own redis client options: short socket timeouts so an outage costs milliseconds.
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}


@dataclass
class _Outage:
    """Shared by every thread's backend instance for one Redis location."""

    down: bool = False
    retry_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_outages: dict[str, _Outage] = {}


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis client wrapper builds a ``redis.Redis`` object on every cache call, and
    building one (its response-callback table) costs more CPU than the round trip; the client
    is thread-safe and sits on the same connection pool, so keep one per pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._client(connection_pool=self._get_connection_pool(index))
            self._clients[index] = client
        return client


class FailSoftRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = dict(params)
        self.retry_seconds = float(params.pop("RETRY_SECONDS", DEFAULT_RETRY_SECONDS))
        params["OPTIONS"] = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        self._outage = _outages.setdefault(server, _Outage())
        self._fallback = DatabaseCache(params.get("FALLBACK_DATABASE", "default"), params)

    @property
    def degraded(self) -> bool:
        return self._outage.down

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        outage = self._outage
        if outage.down and time.monotonic() < outage.retry_at:
            return getattr(self._fallback, name)(*args, **kwargs)
        try:
            result = getattr(RedisCache, name)(self, *args, **kwargs)
        except RedisError as exc:
            with outage.lock:
                if not outage.down:
                    log.error(
                        "Redis cache unavailable (%s); serving from the database cache "
                        "until it returns",
                        type(exc).__name__,
                    )
                outage.down = True
                outage.retry_at = time.monotonic() + self.retry_seconds
            return getattr(self._fallback, name)(*args, **kwargs)
        if outage.down:
            with outage.lock:
                if outage.down:
                    outage.down = False
                    log.warning("Redis cache is reachable again; the database cache stands down")
        return result

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> int:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list[str]:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        self._call("delete_many", *args, **kwargs)

    def clear(self) -> None:
        """Flush Redis only: the stand-in's table also holds the throttles' blocks."""
        RedisCache.clear(self)


def cache_is_degraded(backend: BaseCache) -> bool:
    return bool(getattr(backend, "degraded", False))
