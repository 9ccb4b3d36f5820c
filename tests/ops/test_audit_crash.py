"""A worker SIGKILLed under load loses no audit row.

gunicorn (two workers, the production batching: rows stored after the response, here at most
every 5 s so the killed worker surely holds a batch) serves client-credentials requests from
four keep-alive clients; one worker is SIGKILLed mid-load. Every successful response's token
(its ``jti``) must then have exactly one ``token.issued`` row: what the dead worker had spooled
is ingested by its siblings. A request that got no answer may have its row too (it was spooled
before the kill), never more than one. The chain verifies afterwards.

Runs on a file SQLite database, or on PostgreSQL when ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.ops.conftest import CLIENT_SPECS
from tests.ops.servers import (
    AppServer,
    manage,
    migrate,
    python_in,
    scratch_database,
    seed,
    wait_for,
)

pytestmark = pytest.mark.live

CLIENTS = 4
LOAD_SECONDS = 6.0
KILL_AFTER = 3.0

ROWS = """
import json
from audit.models import AuditEvent
rows = AuditEvent.objects.filter(event="token.issued", client_id="machine")
print(json.dumps(list(rows.values_list("data__jti", flat=True))))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AppServer]:
    workdir = tmp_path_factory.mktemp("audit-crash")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SQLITE_PATH", "DJANGO_SETTINGS_MODULE"}
    }
    with scratch_database(workdir, "auditcrash") as database:
        env.update(
            database,
            SECRET_KEY="test-only-secret-key-" + "x" * 40,
            AUTHSERVER_VAR_DIR=str(workdir),
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
            AUDIT_BATCH_EVENTS="100000",
            AUDIT_BATCH_SECONDS="5",
            AUDIT_SPOOL_SCAN_SECONDS="1",
        )
        migrate(env)
        app = AppServer(env, workdir, WEB_CONCURRENCY="2")
        app.secrets = seed(env, PASSWORD, CLIENT_SPECS)
        app.start()
        try:
            yield app
        finally:
            app.stop()


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _busiest(server: AppServer) -> int:
    """The worker holding the most unstored rows (its spool files are named by its pid): four
    keep-alive clients may all be served by one worker, and killing the idle one proves
    nothing."""
    spooled = {pid: 0 for pid in _workers(server.proc.pid)}
    for path in (Path(server.env["AUTHSERVER_VAR_DIR"]) / "audit-spool").glob("*.jsonl"):
        pid = int(path.name.split("-")[0])
        if pid in spooled:
            spooled[pid] += path.stat().st_size
    victim = max(spooled, key=spooled.__getitem__)
    assert spooled[victim] > 0, "no worker holds a batch to lose"
    return victim


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def test_a_killed_worker_loses_no_audit_row(server):
    secret = server.secrets["machine"]
    issued: list[str] = []
    refused: list[str] = []
    unanswered = [0]
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                response = session.post(
                    f"{server.base}/o/token/",
                    data={"grant_type": "client_credentials"},
                    auth=("machine", secret),
                    timeout=10,
                )
            except requests.RequestException:  # the killed worker's request
                unanswered[0] += 1
                session = requests.Session()
                continue
            if response.status_code != 200:
                refused.append(f"{response.status_code} {response.text[:200]}")
                continue
            issued.append(_jti(response.json()["access_token"]))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER)
    before_kill = len(issued)
    victim = _busiest(server)
    os.kill(victim, signal.SIGKILL)
    time.sleep(LOAD_SECONDS - KILL_AFTER)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert refused == []
    assert before_kill > 100 and len(issued) > before_kill  # load before and after the kill
    wait_for(lambda: victim not in _workers(server.proc.pid), "the killed worker reaped")

    deadline = time.monotonic() + 30  # the survivors' batches (5 s) and spool scans (1 s)
    while True:
        requests.get(f"{server.base}/health/live", timeout=5)  # a request: a spool scan
        rows = python_in(server.env, ROWS)
        if len(rows) >= len(issued) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(rows) == len(set(rows))  # no event twice
    lost = set(issued) - set(rows)
    assert not lost, f"{len(lost)} of {len(issued)} answered requests have no audit row"
    assert len(rows) - len(issued) <= unanswered[0]  # only requests killed after spooling
    assert "spooled rows of ended processes ingested" in server.log()
    assert "audit chain intact" in manage(server.env, "verify_audit")
