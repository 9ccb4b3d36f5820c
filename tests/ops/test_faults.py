"""Faults in the production mode, on private PostgreSQL and Redis servers we stop and start.

Redis is a cache only: while it is down, tokens, introspection and login keep working from the
database, one clear log line says so, and the server recovers when it returns. PostgreSQL is the
system of record: while it is down every endpoint answers 503 + Retry-After (never a 500 with a
trace), liveness stays up, and requests succeed again once it is back, without a restart.
"""

from __future__ import annotations

import pytest
import requests

from authserver import ops
from tests.ops import live
from tests.ops.servers import wait_for

pytestmark = pytest.mark.live


def _ready(base: str, expected: dict) -> bool:
    response = requests.get(f"{base}/health/ready", timeout=5)
    return response.status_code == 200 and response.json()["checks"] == expected


def test_redis_outage_fails_soft_and_recovers(start_app, prod_stack, private_redis):
    secrets = prod_stack["secrets"]
    app = start_app(CACHE_RETRY_SECONDS="1")
    assert _ready(app.base, {"database": "ok", "cache": "ok", "signing_key": "ok"})

    private_redis.stop()
    try:
        token = live.client_credentials(app.base, "machine", secrets["machine"])
        assert token.status_code == 200
        answer = live.introspect(app.base, token.json()["access_token"], "rs1", secrets["rs1"])
        assert answer.json()["active"] is True
        assert live.login(app.base).status_code == 302
        ready = requests.get(f"{app.base}/health/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"]["cache"] == "degraded"
    finally:
        private_redis.start()

    wait_for(
        lambda: _ready(app.base, {"database": "ok", "cache": "ok", "signing_key": "ok"}),
        "cache recovery",
        timeout=15,
    )
    assert live.client_credentials(app.base, "machine", secrets["machine"]).status_code == 200
    log = app.log()
    assert log.count("Redis cache unavailable (ConnectionError)") == 1
    assert "Redis cache is reachable again" in log


def test_postgres_restart_answers_503_then_recovers(start_app, prod_stack, private_postgres):
    secrets = prod_stack["secrets"]
    app = start_app()
    token = live.client_credentials(app.base, "machine", secrets["machine"]).json()
    access = token["access_token"]
    browser = requests.Session()
    assert live.login(app.base, browser=browser).status_code == 302

    private_postgres.stop()
    try:
        assert requests.get(f"{app.base}/health/live", timeout=5).status_code == 200
        ready = requests.get(f"{app.base}/health/ready", timeout=5)
        assert ready.status_code == 503 and ready.json()["failing"] == ["database"]
        # Public keys are served from the per-process key ring while it is fresh.
        assert requests.get(f"{app.base}/o/jwks/", timeout=10).status_code == 200
        outage_answers = [
            live.client_credentials(app.base, "machine", secrets["machine"]),
            live.introspect(app.base, access, "rs1", secrets["rs1"]),
            requests.post(
                f"{app.base}/o/revoke_token/",
                data={"token": access},
                auth=("machine", secrets["machine"]),
                timeout=10,
            ),
            browser.get(f"{app.base}/o/authorize/", params={"client_id": "webapp"}, timeout=10),
        ]
        for response in outage_answers:
            assert response.status_code == 503, response.request.url
            assert response.headers["Retry-After"] == str(ops.RETRY_AFTER_SECONDS)
            assert response.json()["error"] == "temporarily_unavailable"
    finally:
        private_postgres.start()

    wait_for(lambda: requests.get(f"{app.base}/health/ready", timeout=5).ok, "database recovery")
    answer = live.introspect(app.base, access, "rs1", secrets["rs1"])
    assert answer.status_code == 200 and answer.json()["active"] is True
    assert live.client_credentials(app.base, "machine", secrets["machine"]).status_code == 200
    assert live.login(app.base).status_code == 302
    assert "Traceback" not in app.log()
