"""Throttles during a Redis outage, in the production mode: they keep limiting, and no block
is lost, whether it was set before the outage or during it (issue 17, finding 2).

Three gunicorn workers, a private Redis that is stopped mid-test (it keeps nothing on disk, so
its return is also a flush), and the session's private PostgreSQL. Each request carries its own
``X-Forwarded-For`` address (127.0.0.1 is a trusted proxy here) so the per-IP limits and the
abuse counters of the other live tests are not touched. Before the fix, the throttles fell back
to a per-worker memory while Redis was down: the blocked account signed in 10 times of 10, 25
wrong passwords were checked against a limit of 5 and 45 client secrets against 9, and the
blocks set during the outage were gone once Redis returned.
"""

from __future__ import annotations

import pytest
import requests

from tests.conftest import PASSWORD
from tests.ops import live
from tests.ops.servers import python_in, wait_for

pytestmark = pytest.mark.live

LIMITS = {
    "WEB_CONCURRENCY": "3",
    "CACHE_RETRY_SECONDS": "1",
    "TRUSTED_PROXIES": "127.0.0.1/32",
    "LOGIN_FAILURES_PER_ACCOUNT": "5",
    "LOGIN_BACKOFF_SECONDS": "600",  # every block outlasts the test
    "TOKEN_AUTH_FAILURES_PER_CLIENT": "10",
    "TOKEN_AUTH_BACKOFF_SECONDS": "600",
    "ABUSE_IP_FAILURES": "100000",  # the IP blocks tested here are made by hand
}

SETUP = """
import json
from abuse import services as abuse
from accounts import services as accounts
from core.actors import APPLY, SystemActor
from oauth import services as clients
for name in ("locked17", "guessed17"):
    accounts.user_create(actor=APPLY, username=name, password={password!r},
                         email=name + "@example.com")
_, secret = clients.client_create(actor=APPLY, spec={{
    "client_id": "target17", "name": "Target", "type": "confidential",
    "grant_types": ["client_credentials"],
}})
abuse.ip_block(network="203.0.113.99", seconds=3600, reason="test",
               actor=SystemActor("test"))
print(json.dumps(secret))
"""

CHECKED = """
import json
from audit.models import AuditEvent
print(json.dumps(AuditEvent.objects.filter(
    event="login", target="guessed17", outcome="failure", data__reason="credentials"
).count()))
"""


def _signed_in(app, username: str, password: str = PASSWORD, ip: str = "198.51.100.1") -> bool:
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = ip
    return live.login(app.base, username, password, browser=browser).status_code == 302


def _token(app, secret: str, ip: str = "198.51.100.2") -> int:
    return requests.post(
        f"{app.base}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=("target17", secret),
        headers={"X-Forwarded-For": ip},
        timeout=10,
    ).status_code


def _cache(app) -> str:
    return requests.get(f"{app.base}/health/ready", timeout=5).json()["checks"]["cache"]


def test_throttles_hold_through_a_redis_outage(start_app, prod_stack, private_redis):
    secret = python_in(prod_stack["env"], SETUP.format(password=PASSWORD))
    app = start_app(**LIMITS)

    # Before the outage: locked17 is blocked by five wrong passwords (kept in Redis until now).
    for _ in range(5):
        assert not _signed_in(app, "locked17", "wrong-password")
    assert not _signed_in(app, "locked17")

    private_redis.stop()
    try:
        wait_for(lambda: _cache(app) == "degraded", "the cache to report the outage", timeout=15)
        # A block set before the outage holds during it.
        assert sum(_signed_in(app, "locked17") for _ in range(10)) == 0
        # Wrong passwords are checked at most the limit, though three workers take them.
        for _ in range(25):
            assert not _signed_in(app, "guessed17", "wrong-password")
        assert python_in(prod_stack["env"], CHECKED) == 5
        assert not _signed_in(app, "guessed17")
        # Failed client authentications reach 429 at the limit; the right secret still works.
        answers = [_token(app, "wrong-secret") for _ in range(45)]
        assert answers == [401] * 9 + [429] * 36
        assert _token(app, secret) == 200
        # An IP block (a database row) holds too.
        assert not _signed_in(app, "alice", ip="203.0.113.99")
    finally:
        private_redis.start()

    wait_for(lambda: _cache(app) == "ok", "the cache to recover", timeout=15)
    # Redis came back empty: the blocks set before and during the outage hold all the same.
    assert sum(_signed_in(app, "locked17") for _ in range(5)) == 0
    assert sum(_signed_in(app, "guessed17") for _ in range(5)) == 0
    assert python_in(prod_stack["env"], CHECKED) == 5
    assert _token(app, "wrong-secret") == 429
    assert _token(app, secret) == 200
    assert not _signed_in(app, "alice", ip="203.0.113.99")
    assert _signed_in(app, "alice")
    log = app.log()
    assert "serving from the database cache" in log
    assert "Redis cache is reachable again" in log
