"""A test-only Celery entry, ``celery -A tests.ops.slowtask worker``: the authserver app, where
the first delivery of ``abuse.tasks.block_ip_task`` writes its worker's main pid to the file
``$SLOW_TASK_MARKER`` and then hangs, so a test can kill that main process mid-task. Later
deliveries run as usual. Nothing of it is in the application."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

from authserver.celery import app

__all__ = ["app"]

HANG_SECONDS = 3600  # longer than any test; the task's time limit or the kill ends it


@task_prerun.connect(weak=False)
def _hang_on_first_block(sender: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) != "abuse.tasks.block_ip_task":
        return
    marker = Path(os.environ["SLOW_TASK_MARKER"])
    partial = marker.with_suffix(f".{os.getpid()}")
    partial.write_text(str(os.getppid()))  # a pool process: its parent is the main process
    try:
        os.link(partial, marker)  # atomic, and only the first delivery wins
    except FileExistsError:
        return
    finally:
        partial.unlink()
    time.sleep(HANG_SECONDS)
