"""Failure counters with exponential backoff, kept in the Django cache (Redis in production).

A ``Limit`` allows ``failures`` failed attempts per identity within ``window`` seconds; the
failure that reaches the limit blocks the identity for ``backoff`` seconds, and every further
failure doubles the block (never longer than ``window``, so a block is always temporary).
Only failures are counted. Identities are hashed before they become cache keys.
``one_at_a_time`` lets a caller check one attempt per identity at once, so a burst sent to
several workers together is not checked in full before its first failure is counted.

Counters and attempt slots are in the ``default`` cache (Redis in production; during a Redis
outage the database cache, ``core.failsoft_cache``). Blocks are in the ``blocks`` cache, the
database in every mode: a block set before a Redis outage holds during it, and one set during it
holds after Redis returns (a flush of Redis lifts none either). A block is written only when a
failure reaches the limit, and read once per checked attempt (one primary-key ``SELECT``).

Cache errors raise ``ThrottleUnavailable``: callers fail closed (refuse with 503) instead of
silently not limiting.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.base import BaseCache

from core.crypto import sha256_hex
from core.ratelimit import count as _count

log = logging.getLogger(__name__)

MAX_DOUBLINGS = 16
ATTEMPT_SECONDS = 30  # an attempt in progress holds its slot this long at most (a killed worker)


class ThrottleUnavailable(Exception):
    """The cache holding the counters cannot be reached."""


@dataclass(frozen=True)
class Limit:
    name: str
    failures: int
    window: int
    backoff: int

    def block_seconds(self, count: int) -> int:
        """How long the ``count``-th failure in the window blocks (0: not blocked)."""
        if count < self.failures:
            return 0
        doublings = min(count - self.failures, MAX_DOUBLINGS)
        return min(self.backoff * 2**doublings, self.window)


def _now() -> float:
    return time.time()


def _blocks() -> BaseCache:
    return caches["blocks"]


def _key(limit: Limit, kind: str, identity: str) -> str:
    return f"throttle:{limit.name}:{kind}:{sha256_hex(identity)}"


def retry_after(*checks: tuple[Limit, str]) -> int:
    """Seconds until every ``(limit, identity)`` allows another attempt; 0 if none blocks."""
    keys = [_key(limit, "block", identity) for limit, identity in checks if identity]
    try:
        blocked_until = _blocks().get_many(keys)
    except Exception as exc:
        raise ThrottleUnavailable(str(exc)) from exc
    now = _now()
    waits = [math.ceil(until - now) for until in blocked_until.values() if until > now]
    return max(waits, default=0)


def record_failure(limit: Limit, identity: str) -> int:
    """Count one failure; returns the seconds of the block it started (0 if none)."""
    if not identity:
        return 0
    count_key = _key(limit, "count", identity)
    try:
        seconds = limit.block_seconds(_count(count_key, limit.window))
        if seconds:
            _blocks().set(_key(limit, "block", identity), _now() + seconds, timeout=seconds)
    except Exception as exc:
        raise ThrottleUnavailable(str(exc)) from exc
    return seconds


@contextmanager
def one_at_a_time(limit: Limit, identity: str) -> Iterator[bool]:
    """Whether this attempt is the only one of ``identity`` in progress, in every process; the
    slot is held until the block exits. Read ``retry_after`` inside the block: an attempt that
    waited for the slot must see the failure its predecessor counted."""
    key = _key(limit, "attempt", identity)
    try:
        alone = cache.add(key, 1, timeout=ATTEMPT_SECONDS)
    except Exception as exc:
        raise ThrottleUnavailable(str(exc)) from exc
    try:
        yield alone
    finally:
        if alone:
            try:
                cache.delete(key)
            except Exception:  # the slot lapses after ATTEMPT_SECONDS: closed, not open
                log.warning("could not free the attempt slot of %s", limit.name, exc_info=True)


def reset(limit: Limit, identity: str) -> None:
    """Forget the failures of ``identity`` (after a success)."""
    try:
        cache.delete(_key(limit, "count", identity))
        _blocks().delete(_key(limit, "block", identity))
    except Exception as exc:
        raise ThrottleUnavailable(str(exc)) from exc
