"""Counters in the Django cache (Redis in production, so shared by processes).

``count`` is the one primitive: add one to a counter that lives ``window`` seconds from its
first use. ``hit`` builds fixed-window rate limits on it; ``core.throttle`` (failures
with backoff) and ``abuse.detection`` (failures across accounts per IP) count with it too.
Cache errors propagate; each caller decides whether to fail closed.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache


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


def hit(key: str, limit: int, window: int = 60) -> int | None:
    """Count one use of ``key``; return seconds until the window resets if over ``limit``."""
    now = time.time()
    bucket = int(now // window)
    if count(f"rl:{key}:{bucket}", window + 1) > limit:
        return max(1, math.ceil((bucket + 1) * window - now))
    return None
