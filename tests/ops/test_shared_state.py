"""Throttles hold across gunicorn workers in the embedded default (no Redis).

One gunicorn with three workers on a SQLite file (or, when ``DATABASE_URL`` is set, a scratch
PostgreSQL database), as ``make run`` serves. Each attempt goes to a chosen worker: a sync worker
serves one connection at a time, so three connections opened together are held by three
different workers until a request is sent on them. Failures spread over the workers must count
once: in a per-process cache each worker counted alone (15 wrong passwords, 15 checked).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.client import HTTPConnection
from urllib.parse import urlencode

import pyotp
import pytest
import requests

from tests.conftest import PASSWORD
from tests.ops import live
from tests.ops.servers import AppServer, embedded_env, python_in, scratch_database, serving

pytestmark = pytest.mark.live

WORKERS = 3
ATTEMPTS = 15
ACCEPT_WAIT = 0.3  # seconds for the idle workers to accept the connections just opened
MFA_ROUNDS = 5
MFA_LOCK_SECONDS = 3

SEED = """
import json
from accounts import services as accounts
from core.actors import APPLY
from mfa import services as mfa
from oauth import services as clients
accounts.user_create(actor=APPLY, username="alice", password={password!r},
                     email="alice@example.com")
accounts.user_create(actor=APPLY, username="carol", password={password!r},
                     email="carol@example.com")
bob = accounts.user_create(actor=APPLY, username="bob", password={password!r},
                           email="bob@example.com")
seed = mfa.authenticator_totp_provision(user=bob)
client, secret = clients.client_create(actor=APPLY, spec={{"client_id": "machine",
                                       "name": "Machine",
    "type": "confidential", "grant_types": ["client_credentials"]}})
print(json.dumps({{"machine": secret, "bob_totp": seed}}))
"""

AUDIT = """
import json
from collections import Counter
from audit.models import AuditEvent
rows = AuditEvent.objects.filter(event={event!r}, target={target!r})
print(json.dumps(sorted(Counter(f"{{r.outcome}}:{{r.data.get('reason', '')}}"
                                for r in rows).items())))
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("shared-state")
    with scratch_database(workdir, "shared") as database:
        env = embedded_env(
            database,
            workdir,
            LOGIN_BACKOFF_SECONDS="600",  # no block ends while a test runs
            TOKEN_AUTH_BACKOFF_SECONDS="600",
            MFA_MAX_ATTEMPTS="2",
            MFA_LOCKOUT_SECONDS=str(MFA_LOCK_SECONDS),
            MFA_LOCKOUT_MAX_SECONDS=str(MFA_LOCK_SECONDS),
        )
        with serving(env, workdir, SEED.format(password=PASSWORD), WORKERS) as (secrets, server):
            yield {"env": env, "secrets": secrets, "server": server}


def _on_every_worker(server: AppServer) -> list[HTTPConnection]:
    """One open connection per worker, each held by its worker until a request is sent."""
    connections = [HTTPConnection("127.0.0.1", server.port, timeout=30) for _ in range(WORKERS)]
    for connection in connections:
        connection.connect()
    time.sleep(ACCEPT_WAIT)
    return connections


def _post(connection: HTTPConnection, path: str, form: dict, **headers: str) -> tuple[int, str]:
    connection.request(
        "POST",
        path,
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    connection.close()
    return response.status, body


def _spread(server: AppServer, send) -> list[int]:
    """``ATTEMPTS`` calls of ``send(connection)``, one after the other, in rounds of one per
    worker. Their statuses, in order."""
    statuses: list[int] = []
    for _ in range(ATTEMPTS // WORKERS):
        statuses += [send(connection)[0] for connection in _on_every_worker(server)]
    return statuses


def _at_once(server: AppServer, send) -> list[int]:
    """``send(connection)`` on every worker at the same moment; the statuses."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return [status for status, _ in pool.map(send, _on_every_worker(server))]


def _cookies(browser: requests.Session) -> str:
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def _audit(stack: dict, event: str, target: str) -> dict[str, int]:
    """The outcomes (with reasons) of ``event`` audited with ``target``, counted."""
    return dict(python_in(stack["env"], AUDIT.format(event=event, target=target)))


def test_wrong_passwords_over_every_worker_are_checked_up_to_the_limit_only(stack):
    server = stack["server"]
    browser = requests.Session()
    token = live.form_token(browser, f"{server.base}/accounts/login/")
    form = {"username": "alice", "password": "not the password", "csrfmiddlewaretoken": token}

    statuses = _spread(
        server, lambda c: _post(c, "/accounts/login/", form, Cookie=_cookies(browser))
    )

    assert statuses == [200] * ATTEMPTS  # a refusal looks like a wrong password
    # Five passwords were checked (LOGIN_FAILURES_PER_ACCOUNT); the other ten were refused
    # unchecked, on whichever worker they reached.
    assert _audit(stack, "login", "alice") == {"failure:credentials": 5, "denied:throttled": 10}
    # The right password is refused too, on every worker, while the block lasts.
    right = {**form, "password": PASSWORD}
    for connection in _on_every_worker(server):
        status, _ = _post(connection, "/accounts/login/", right, Cookie=_cookies(browser))
        assert status == 200  # the form again, not the 302 of a sign-in
    assert _audit(stack, "login", "alice")["denied:throttled"] == 10 + WORKERS


def test_wrong_passwords_sent_at_once_to_every_worker_are_checked_up_to_the_limit_only(stack):
    server = stack["server"]
    browser = requests.Session()
    token = live.form_token(browser, f"{server.base}/accounts/login/")
    form = {"username": "carol", "password": "not the password", "csrfmiddlewaretoken": token}
    send = partial(_post, path="/accounts/login/", form=form, Cookie=_cookies(browser))

    statuses = [status for _ in range(ATTEMPTS // WORKERS) for status in _at_once(server, send)]

    assert statuses == [200] * ATTEMPTS
    # One password of an account is checked at a time: an attempt arriving while another is
    # checked is refused unchecked, so no burst gets past the five the limit allows.
    outcomes = _audit(stack, "login", target="carol")
    assert 1 <= outcomes.get("failure:credentials", 0) <= 5
    assert outcomes.get("failure:credentials", 0) + outcomes["denied:throttled"] == ATTEMPTS


def test_failed_client_authentications_over_every_worker_meet_the_limit_at_the_limit(stack):
    server = stack["server"]
    wrong = {"grant_type": "client_credentials", "client_id": "machine", "client_secret": "x"}

    statuses = _spread(server, lambda c: _post(c, "/o/token/", wrong))

    # TOKEN_AUTH_FAILURES_PER_CLIENT = 10: nine 401s, then the tenth failure starts the block.
    assert statuses == [401] * 9 + [429] * (ATTEMPTS - 9)
    # Only failures are throttled: the client that knows its secret still gets tokens.
    secret = stack["secrets"]["machine"]
    assert live.client_credentials(server.base, "machine", secret).status_code == 200


def test_wrong_codes_sent_at_once_to_every_worker_are_checked_up_to_the_limit_only(stack):
    server = stack["server"]
    browser = requests.Session()
    token = live.form_token(browser, f"{server.base}/accounts/login/")
    response = browser.post(
        f"{server.base}/accounts/login/",
        data={"username": "bob", "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.headers["Location"] == "/mfa/authenticate/"
    token = live.form_token(browser, f"{server.base}/mfa/authenticate/")
    totp = pyotp.TOTP(stack["secrets"]["bob_totp"])
    now = time.time()
    valid = {totp.at(now + drift) for drift in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in valid)
    form = {"code": wrong, "csrfmiddlewaretoken": token}

    rounds = []
    for _ in range(MFA_ROUNDS):
        send = partial(_post, path="/mfa/authenticate/", form=form, Cookie=_cookies(browser))
        rounds.append(sorted(_at_once(server, send)))
        time.sleep(MFA_LOCK_SECONDS + 0.5)  # the lock ends; the next round starts afresh

    # Each round: three codes at once, one per worker, against MFA_MAX_ATTEMPTS = 2. Two are
    # checked (the second locks the factor), the third is refused unchecked, however the
    # three interleave. Read outside the failure's transaction, all three were often checked.
    assert rounds == [[200, 429, 429]] * MFA_ROUNDS
    assert _audit(stack, "mfa.verify", "") == {  # MFA events name their actor (bob), no target
        "failure:wrong": 2 * MFA_ROUNDS,
        "denied:locked": MFA_ROUNDS,
    }
