"""Per-key rate limit: a fixed one-minute window counted in the shared Django cache.

``API_KEY_RATE_LIMIT`` requests per minute per key (0 turns the limit off). Counting happens
only after the key was verified, so nobody can use up someone else's budget with a guessed
secret for a public key id.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache

WINDOW = 60


def hit(key_id: str) -> int | None:
    """Count one request of the key; seconds until the window resets when over the limit."""
    limit = settings.API_KEY_RATE_LIMIT
    if limit <= 0:
        return None
    moment = time.time()
    window = int(moment // WINDOW)
    name = f"apikeys:rate:{key_id}:{window}"
    cache.add(name, 0, timeout=WINDOW * 2)
    try:
        count = cache.incr(name)
    except ValueError:  # evicted between add and incr
        cache.set(name, 1, timeout=WINDOW * 2)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW - moment))
