"""Per-key rate limit: a fixed one-minute window counted in the shared Django cache.

``API_KEY_RATE_LIMIT`` requests per minute per key (0 turns the limit off). Counting happens
only after the key was verified, so nobody can use up someone else's budget with a guessed
secret for a public key id.
"""

from __future__ import annotations

from django.conf import settings

from core import ratelimit

WINDOW = 60


def hit(key_id: str) -> int | None:
    """Count one request of the key; seconds until the window resets when over the limit."""
    limit = settings.API_KEY_RATE_LIMIT
    if limit <= 0:
        return None
    return ratelimit.hit(f"apikeys:{key_id}", limit, WINDOW)
