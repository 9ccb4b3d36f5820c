"""A Django cache backend in the database, shared by every process that uses the database.

The embedded mode runs several gunicorn workers on one SQLite file and no Redis. The limiter's
counters (``core.limits``) must be one count for all of them: in a per-process cache each
worker counted its own, so five workers checked 25 wrong passwords where the limit is 5.
Django's own ``DatabaseCache`` is shared but its ``incr`` is a ``get`` then a ``set``, so two
workers can both read 4 and both write 5.

Here every operation is one SQL statement, atomic across processes on SQLite (>= 3.35) and
PostgreSQL: ``add`` is an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <expired>``, ``incr`` an
``UPDATE ... SET number = number + n ... RETURNING number``. Values are JSON data; ints live in
their own column so the increment happens in the database. Nothing is ever evicted before it
expires (an eviction would be a way to reset someone's counter); expired rows are deleted
every ``CULL_EVERY`` writes of a process. ``LOCATION`` names the database alias (``default``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from core import clock

TABLE = "core_cacheentry"  # of core.models.CacheEntry
CULL_EVERY = 500
LIVE = "(expires IS NULL OR expires > %s)"


def _encode(value: Any) -> tuple[int | None, str | None]:
    if type(value) is int:
        return value, None
    return None, json.dumps(value, separators=(",", ":"))


def _decode(number: int | None, data: str | None) -> Any:
    return number if number is not None else json.loads(data or "null")


class DatabaseCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._alias = location or DEFAULT_DB_ALIAS
        self._writes = 0

    def _expiry(self, timeout: float | None | object) -> float | None:
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        return clock.now() + float(timeout)  # 0 or less: expired at once, as Django's backends do

    def _write(self, sql: str, params: Iterable[Any]) -> tuple | None:
        """Run one writing statement in its own transaction (or the caller's); its first row."""
        with (
            transaction.atomic(using=self._alias, savepoint=False),
            connections[self._alias].cursor() as cursor,
        ):
            cursor.execute(sql, list(params))
            rows = cursor.fetchall() if cursor.description else []
            self._cull(cursor)
        return rows[0] if rows else None

    def _cull(self, cursor: Any) -> None:
        self._writes += 1
        if self._writes % CULL_EVERY == 0:
            cursor.execute(f"DELETE FROM {TABLE} WHERE expires <= %s", [clock.now()])  # noqa: S608  # nosec B608

    def _upsert(
        self, key: str, version: Any, value: Any, timeout: Any, *, only_if_expired: bool
    ) -> bool:
        key = self.make_and_validate_key(key, version=version)
        number, data = _encode(value)
        params = [key, number, data, self._expiry(timeout)]
        condition = ""
        if only_if_expired:
            condition = f" WHERE {TABLE}.expires IS NOT NULL AND {TABLE}.expires <= %s"
            params.append(clock.now())
        row = self._write(
            f"INSERT INTO {TABLE} (cache_key, number, data, expires) VALUES (%s, %s, %s, %s) "  # noqa: S608  # nosec B608
            "ON CONFLICT (cache_key) DO UPDATE SET number = excluded.number, "
            f"data = excluded.data, expires = excluded.expires{condition} RETURNING cache_key",
            params,
        )
        return row is not None

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        """Store ``value`` unless ``key`` holds a live value; whether it was stored."""
        return self._upsert(key, version, value, timeout, only_if_expired=True)

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._upsert(key, version, value, timeout, only_if_expired=False)

    def incr(self, key: str, delta: int = 1, version: Any = None) -> int:
        """Add ``delta`` to the int at ``key`` in one statement; ValueError if there is none."""
        key = self.make_and_validate_key(key, version=version)
        row = self._write(
            f"UPDATE {TABLE} SET number = number + %s "  # noqa: S608  # nosec B608
            f"WHERE cache_key = %s AND number IS NOT NULL AND {LIVE} RETURNING number",
            [delta, key, clock.now()],
        )
        if row is None:
            raise ValueError(f"Key '{key}' not found")
        return row[0]

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        row = self._write(
            f"UPDATE {TABLE} SET expires = %s WHERE cache_key = %s AND {LIVE} RETURNING 1",  # noqa: S608  # nosec B608
            [self._expiry(timeout), key, clock.now()],
        )
        return row is not None

    def get(self, key: str, default: Any = None, version: Any = None) -> Any:
        return self.get_many([key], version=version).get(key, default)

    def get_many(self, keys: Iterable[str], version: Any = None) -> dict[str, Any]:
        """The live values of ``keys`` (in one query)."""
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not made:
            return {}
        marks = ", ".join(["%s"] * len(made))
        with connections[self._alias].cursor() as cursor:
            cursor.execute(
                f"SELECT cache_key, number, data FROM {TABLE} "  # noqa: S608  # nosec B608
                f"WHERE cache_key IN ({marks}) AND {LIVE}",
                [*made, clock.now()],
            )
            return {made[key]: _decode(number, data) for key, number, data in cursor.fetchall()}

    def delete(self, key: str, version: Any = None) -> bool:
        return self._delete([self.make_and_validate_key(key, version=version)])

    def delete_many(self, keys: Iterable[str], version: Any = None) -> None:
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        if made:
            self._delete(made)

    def _delete(self, keys: list[str]) -> bool:
        marks = ", ".join(["%s"] * len(keys))
        return (
            self._write(
                f"DELETE FROM {TABLE} WHERE cache_key IN ({marks}) RETURNING 1",  # noqa: S608  # nosec B608
                keys,
            )
            is not None
        )

    def clear(self) -> None:
        self._write(f"DELETE FROM {TABLE}", [])  # noqa: S608  # nosec B608
