"""Fixed-window rate limits in the Django cache (Redis in production, so shared by processes)."""

from __future__ import annotations

import time

from django.core.cache import cache


def hit(key: str, limit: int, window: int = 60) -> int | None:
    """Count one use of ``key``; return seconds until the window resets if over ``limit``."""
    now = int(time.time())
    bucket = now // window
    cache_key = f"rl:{key}:{bucket}"
    if cache.add(cache_key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: start the window again
            cache.set(cache_key, 1, timeout=window + 1)
            count = 1
    if count > limit:
        return max(1, (bucket + 1) * window - now)
    return None
