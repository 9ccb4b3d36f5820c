"""The one limiter: counters in the shared cache, blocks in the database.

Each app declares its limits as named constants (``accounts.limits``, ``oauth.client_auth.limits``,
``apikeys.policy``, ``roles.gateway``, ``abuse.detection``, ``mfa.services``) and calls this
module. A constant's numbers may name Django settings (``"LOGIN_BACKOFF_SECONDS"``), read at
each use, so the environment and ``override_settings`` both apply.

- ``count``: the primitive, add one to a counter that lives ``window`` seconds from its first
  use (the ``default`` cache's atomic ``add``/``incr``).
- ``Rate`` + ``hit``: a fixed-window rate limit (requests per window per identity; 0: off).
- ``Limit`` + ``retry_after``/``record_failure``/``reset``/``one_at_a_time``: failures with
  backoff. ``failures`` failed attempts per identity within ``window`` seconds; the failure
  that reaches the limit blocks the identity for ``backoff`` seconds, and every further one
  doubles the block, never past ``cap`` (by default the window, so a block is always
  temporary). Only failures count; identities are hashed before they become cache keys.
- ``Limit.lock_seconds``: the same doubling for a lockout whose failures its owner keeps
  itself (the MFA lockout counts in its own rows, under the user's row lock).

Counters and attempt slots are in the ``default`` cache (Redis in production; during a Redis
outage the database cache, ``core.failsoft_cache``, so counting goes on once for all workers).
Blocks are in the ``blocks`` cache, the database in every mode: a block set before a Redis
outage holds during it, one set during it holds after Redis returns, and a flush of Redis lifts
none. A block is written only when a failure reaches the limit, and read once per checked
attempt (one primary-key ``SELECT``).

The failure functions raise ``LimitUnavailable`` when a store cannot be reached (``guarded``
does it for other callers): callers fail closed (refuse with 503) instead of silently not
limiting. ``count`` and ``hit`` let cache errors propagate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.base import BaseCache

from core import clock
from core.crypto import sha256_hex

log = logging.getLogger(__name__)

MAX_DOUBLINGS = 16
ATTEMPT_SECONDS = 30  # an attempt in progress holds its slot this long at most (a killed worker)

Number = int | str  # seconds or a count, or the name of the Django setting that holds it


class LimitUnavailable(Exception):
    """The store holding the counters or the blocks cannot be reached."""


def value(number: Number) -> int:
    """``number`` itself, or the current value of the setting it names."""
    return int(getattr(settings, number)) if isinstance(number, str) else number


def _blocks() -> BaseCache:
    return caches["blocks"]


@contextmanager
def guarded() -> Iterator[None]:
    """Turn any error of the stores inside the block into ``LimitUnavailable``."""
    try:
        yield
    except LimitUnavailable:
        raise
    except Exception as exc:
        raise LimitUnavailable(str(exc)) from exc


# --- counters ------------------------------------------------------------------------------


def count(key: str, window: int) -> int:
    """Add one to the counter ``key`` (created to live ``window`` seconds); its new value.

    The increment comes first: a counter in use costs that one call, ``add`` only starts one.
    """
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet (or it expired)
        pass
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)  # another process started it meanwhile
    except ValueError:  # expired (or evicted) between add and incr: start again
        cache.set(key, 1, timeout=window)
        return 1


def first(key: str, window: int) -> bool:
    """Whether this is the first time ``key`` is marked within ``window`` seconds."""
    return bool(cache.add(key, 1, timeout=window))


def current(key: str) -> int:
    """The counter ``key`` as it stands (0 if there is none)."""
    return cache.get(key) or 0


def forget(*keys: str) -> None:
    """Drop counters and marks."""
    cache.delete_many(list(keys))


# --- fixed window --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``limit`` uses per identity in each fixed ``window`` of seconds (0 or less: off)."""

    name: str
    limit: Number
    window: int = 60


def hit(rate: Rate, identity: str) -> int | None:
    """Count one use by ``identity``; the seconds until the window resets if over the limit."""
    limit = value(rate.limit)
    if limit <= 0:
        return None
    now = clock.now()
    bucket = int(now // rate.window)
    if count(f"rl:{rate.name}:{identity}:{bucket}", rate.window + 1) > limit:
        return max(1, math.ceil((bucket + 1) * rate.window - now))
    return None


# --- failures with backoff, lockout --------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """``failures`` per identity within ``window`` seconds, then blocks from ``backoff``
    seconds, doubling, at most ``cap``. A limit without a window is a lockout whose owner
    counts the failures itself and asks only ``reached`` and ``lock_seconds``."""

    name: str
    failures: Number
    window: Number | None
    backoff: Number
    cap: Number | None = None  # the longest block (None: the window)
    normalize: Callable[[str], str] | None = None  # applied to identities before hashing

    def reached(self, failures: int) -> bool:
        return failures >= value(self.failures)

    def lock_seconds(self, locks: int) -> int:
        """How long the ``locks``-th block in a row lasts: the backoff doubled per earlier
        block, capped."""
        longest = self.cap if self.cap is not None else self.window
        if longest is None:
            raise ValueError(f"the limit {self.name} has neither a window nor a cap")
        return min(value(self.backoff) * 2 ** min(locks - 1, MAX_DOUBLINGS), value(longest))

    def block_seconds(self, count: int) -> int:
        """How long the ``count``-th failure in the window blocks (0: not blocked)."""
        if not self.reached(count):
            return 0
        return self.lock_seconds(count - value(self.failures) + 1)

    def identity(self, raw: str | None) -> str:
        """What is counted for ``raw`` (normalized; empty: nothing is)."""
        return self.normalize(raw or "") if self.normalize is not None else raw or ""

    def key(self, kind: str, identity: str) -> str:
        return f"throttle:{self.name}:{kind}:{sha256_hex(identity)}"


def retry_after(*checks: tuple[Limit, str | None]) -> int:
    """Seconds until every ``(limit, identity)`` allows another attempt; 0 if none blocks.
    An empty or unknown (None) identity is not limited."""
    identities = [(limit, limit.identity(raw)) for limit, raw in checks]
    keys = [limit.key("block", identity) for limit, identity in identities if identity]
    with guarded():
        blocked_until = _blocks().get_many(keys)
    now = clock.now()
    waits = [math.ceil(until - now) for until in blocked_until.values() if until > now]
    return max(waits, default=0)


def record_failure(*checks: tuple[Limit, str | None]) -> int:
    """Count one failure of each ``(limit, identity)``; the seconds of the longest block this
    started (0 if none)."""
    started = 0
    for limit, raw in checks:
        if limit.window is None:
            raise ValueError(f"the limit {limit.name} is counted by its owner")
        identity = limit.identity(raw)
        if not identity:
            continue
        with guarded():
            seconds = limit.block_seconds(count(limit.key("count", identity), value(limit.window)))
            if seconds:
                block = limit.key("block", identity)
                _blocks().set(block, clock.now() + seconds, timeout=seconds)
        started = max(started, seconds)
    return started


@contextmanager
def one_at_a_time(limit: Limit, identity: str) -> Iterator[bool]:
    """Whether this attempt is the only one of ``identity`` in progress, in every process; the
    slot is held until the block exits. Read ``retry_after`` inside the block: an attempt that
    waited for the slot must see the failure its predecessor counted."""
    key = limit.key("attempt", limit.identity(identity))
    with guarded():
        alone = cache.add(key, 1, timeout=ATTEMPT_SECONDS)
    try:
        yield alone
    finally:
        if alone:
            try:
                cache.delete(key)
            except Exception:  # the slot lapses after ATTEMPT_SECONDS: closed, not open
                log.warning("could not free the attempt slot of %s", limit.name, exc_info=True)


def reset(limit: Limit, identity: str) -> None:
    """Forget the failures and lift the block of ``identity`` (a success, an administrator)."""
    identity = limit.identity(identity)
    with guarded():
        cache.delete(limit.key("count", identity))
        _blocks().delete(limit.key("block", identity))
