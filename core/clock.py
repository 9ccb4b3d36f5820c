"""The one clock: every app reads the time here, so tests freeze or move a single seam
(``tests/conftest.py``'s ``clock`` fixture) instead of one per module.

- ``now()``: wall-clock UNIX time (expiry, windows, sign-in and factor times, TOTP steps).
- ``utcnow()``: the same instant as an aware ``datetime`` (rows compared with model fields).
- ``monotonic()``: for durations within one process (cache ages, retry pauses).

Django's own clocks (``timezone.now`` in sessions, ``auto_now`` fields) are not routed here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    """Wall-clock time, seconds since the epoch."""
    return time.time()


def utcnow() -> datetime:
    """``now()`` as an aware UTC ``datetime``."""
    return datetime.fromtimestamp(now(), tz=UTC)


def monotonic() -> float:
    """A clock that never goes back, for durations within this process."""
    return time.monotonic()
