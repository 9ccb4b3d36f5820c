"""How many worker processes serve the application (read by gunicorn and the system checks)."""

from __future__ import annotations

import multiprocessing
import os


def web_concurrency() -> int:
    """gunicorn's worker count: ``WEB_CONCURRENCY``, else one per CPU and at least 2.

    Not gunicorn's advice of 2 x CPUs + 1, which is for workers that wait on I/O: ours are
    threaded (their threads wait) and the hot paths spend CPU. Measured with ``make
    bench-servers`` on 2 CPUs (docs/benchmarks.md, "The server lever"): 5 workers cost 1.5-2x
    the CPU per request of 2 and served less, and their SQLite writers queued longer. At least
    2, so that a worker that is restarted or killed leaves one serving."""
    default = max(2, multiprocessing.cpu_count())
    return int(os.environ.get("WEB_CONCURRENCY", default))
