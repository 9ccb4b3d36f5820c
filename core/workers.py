"""How many worker processes serve the application (read by gunicorn and the system checks)."""

from __future__ import annotations

import multiprocessing
import os


def web_concurrency() -> int:
    """gunicorn's worker count: ``WEB_CONCURRENCY``, else 2 x CPUs + 1 (gunicorn's advice)."""
    return int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
