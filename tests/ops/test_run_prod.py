"""`make run-prod`: gunicorn, a Celery worker and Celery beat, working together."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.ops.servers import ROOT, free_port, own_session, wait_for

pytestmark = pytest.mark.live

SEALED = 'authserver_celery_tasks_total{outcome="success",task="audit.tasks.seal_audit_log_task"}'


def test_run_prod_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    done = subprocess.run(
        ["make", "-s", "-o", "install", "run-prod"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "run-prod needs SECRET_KEY" in done.stderr


@pytest.fixture
def run_prod(prod_stack, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **prod_stack["env"],
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    args = ["make", "-s", "-o", "install", "run-prod"]
    with own_session(args, env, tmp_path / "run-prod.log"):
        yield f"http://127.0.0.1:{port}"


def test_run_prod_serves_and_runs_scheduled_tasks(run_prod):
    def ready() -> bool:
        try:
            return requests.get(f"{run_prod}/health/ready", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_for(ready, "make run-prod", timeout=60)

    def sealed_by_the_worker() -> bool:
        metrics = requests.get(f"{run_prod}/metrics", timeout=5).text
        return SEALED in metrics

    # beat schedules the audit seal every 10 s; the worker's outcome shows on /metrics.
    wait_for(sealed_by_the_worker, "a beat-scheduled task run by the worker", timeout=60)
