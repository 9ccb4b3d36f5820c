"""No task is stranded: a Celery worker's main process SIGKILLed mid-task (its pool process
dies with it, unacknowledged) is started again by ``scripts/supervise.sh`` as ``make run-prod``
does, and the broker hands the task over again after its visibility timeout (set from the
longest task, not kombu's hour), so the IP block the task writes exists within that time."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from authserver.celery import app
from tests.ops.servers import VENV_BIN, own_session, python_in, wait_for

ADDRESS = "203.0.113.99"
# the worker's: visibility timeout 10 + 1 + 2 = 13 s (the shipped 600 + 120 + 30 is tested above)
TIME_LIMIT, BACKOFF_MAX, MARGIN = 10, 1, 2
VISIBILITY = TIME_LIMIT + BACKOFF_MAX + MARGIN
RESTORE_INTERVAL = 5  # how often a worker looks for tasks past their visibility timeout


def _longest_countdown(task) -> float:
    """The longest wait between two tries of ``task`` (its exponential backoff, capped)."""
    if not getattr(task, "autoretry_for", ()):
        return 0
    assert task.retry_backoff, f"{task.name} retries without a bounded backoff"
    longest = int(task.retry_backoff) * 2 ** (task.max_retries - 1)
    return min(longest, getattr(task, "retry_backoff_max", 600))


def test_the_visibility_timeout_covers_the_longest_task_and_retry(settings):
    """A redelivery never duplicates a task still running or waiting for its retry."""
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert {task.name for task in ours} >= {
        "abuse.tasks.block_ip_task",
        "audit.tasks.export_audit_log_task",
        "oauth.tasks.clear_expired_tokens_task",
    }
    for task in ours:
        assert task.time_limit == settings.CELERY_TASK_TIME_LIMIT, task.name  # none runs longer
        assert _longest_countdown(task) <= settings.TASK_RETRY_BACKOFF_MAX, task.name
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT == 600
    assert settings.CELERY_VISIBILITY_MARGIN == 30
    assert visibility == 600 + settings.TASK_RETRY_BACKOFF_MAX + 30 == 750  # 12.5 min, not 1 h


def _blocks(database_url: str) -> int:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM abuse_ipblock WHERE network = %s", [f"{ADDRESS}/32"]
        ).fetchone()
    return row[0]


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir() if tasks.exists() else ():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


@pytest.fixture
def supervised_worker(prod_stack, private_redis, tmp_path: Path) -> Iterator[dict]:
    """``scripts/supervise.sh celery -A tests.ops.slowtask worker``, on a Redis database no
    other test uses; stopped (SIGTERM to the supervisor's session) afterwards."""
    env = {
        **prod_stack["env"],
        "REDIS_URL": private_redis.url.rsplit("/", 1)[0] + "/3",
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "TASK_RETRY_BACKOFF_MAX": str(BACKOFF_MAX),
        "CELERY_VISIBILITY_MARGIN": str(MARGIN),
        "SLOW_TASK_MARKER": str(tmp_path / "hanging"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    log_path = tmp_path / "worker.log"
    command = [str(VENV_BIN / "celery"), "-A", "tests.ops.slowtask", "worker"]
    args = ["sh", "scripts/supervise.sh", *command, "--concurrency", "1", "--loglevel", "INFO"]
    with own_session(args, env, log_path) as supervisor:
        yield {"env": env, "supervisor": supervisor, "log": log_path}


@pytest.mark.live
def test_a_killed_worker_main_process_strands_no_task(supervised_worker):
    env, supervisor = supervised_worker["env"], supervised_worker["supervisor"]
    marker = Path(env["SLOW_TASK_MARKER"])
    assert _blocks(env["DATABASE_URL"]) == 0
    queued = time.monotonic()  # the task's delivery is later: this bounds its wait from below
    python_in(  # what abuse.guard does when the detector fires
        env,
        "from abuse.tasks import block_ip_task\n"
        f"block_ip_task.delay({ADDRESS!r}, failures=20, accounts=3)\nprint(1)",
    )
    wait_for(lambda: marker.exists(), "the block task running (and hanging)", timeout=60)
    main = int(marker.read_text())
    assert _children(supervisor.pid) == [main]  # the worker's main process, started by supervise
    os.kill(main, signal.SIGKILL)
    killed = time.monotonic()

    def restarted() -> bool:
        return bool(set(_children(supervisor.pid)) - {main})

    wait_for(restarted, "the supervisor starting the worker again", timeout=10)
    assert _blocks(env["DATABASE_URL"]) == 0  # the killed try wrote nothing

    deadline = VISIBILITY + RESTORE_INTERVAL + 15  # + a slow start of the new worker
    try:
        wait_for(lambda: _blocks(env["DATABASE_URL"]) == 1, "the IP block", timeout=deadline)
    except TimeoutError:
        log = supervised_worker["log"].read_text()
        pytest.fail(f"no block {deadline} s after the kill:\n{log}")
    written = time.monotonic()
    assert written - queued >= VISIBILITY - 1  # handed over by the broker, not before
    assert written - killed <= deadline
    assert "supervise: " in supervised_worker["log"].read_text()
    print(f"queued->block {written - queued:.1f} s, kill->block {written - killed:.1f} s")
