"""Second-factor races through a real multi-worker server (issue 17 finding 5).

One gunicorn with four workers on a SQLite file (or, when ``DATABASE_URL`` is set, a scratch
PostgreSQL database). Each race releases its requests together (a barrier) so they reach the
workers at once:

- 20 wrong codes of one pending sign-in against ``MFA_MAX_ATTEMPTS = 5``: exactly five are
  checked, the fifth locks the factor, fifteen are refused unchecked. Read outside the lock, 7
  were checked;
- 10 sessions of one user sending the same valid TOTP code, or the same recovery code: one signs
  in, nine are told the code was already used, and the user is not locked out (they counted as
  wrong codes and locked the user).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import requests

from tests.conftest import PASSWORD
from tests.ops import live
from tests.ops.servers import embedded_env, python_in, scratch_database, serving

pytestmark = pytest.mark.live

WORKERS = 4
MAX_ATTEMPTS = 5
WRONG_CODES = 20
SESSIONS = 10

SEED = """
import json
from accounts import services as accounts
from core.actors import APPLY
from mfa import services as mfa
made = {{}}
for name in ("dave", "bob", "erin"):
    user = accounts.user_create(actor=APPLY, username=name, password={password!r},
                                email=name + "@example.com")
    made[name] = mfa.authenticator_totp_provision(user=user)
made["erin_codes"] = mfa.recovery_codes_generate(user=user)
print(json.dumps(made))
"""

OUTCOMES = """
import json
from collections import Counter
from audit.models import AuditEvent
from mfa.models import Lockout
rows = AuditEvent.objects.filter(event="mfa.verify", actor={user!r})
lockout = Lockout.objects.filter(user__username={user!r}).first()
print(json.dumps({{
    "audit": sorted(Counter(f"{{r.outcome}}:{{r.data.get('reason', '')}}" for r in rows).items()),
    "failures": lockout.failures if lockout else 0,
    "locked": bool(lockout and lockout.locked_until),
}}))
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("mfa-races")
    with scratch_database(workdir, "mfa_races") as database:
        env = embedded_env(
            database,
            workdir,
            MFA_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
            MFA_LOCKOUT_SECONDS="600",  # no lock ends while a test runs
        )
        with serving(env, workdir, SEED.format(password=PASSWORD), WORKERS) as (secrets, server):
            yield {"env": env, "secrets": secrets, "server": server}


def _pending_sign_in(base: str, username: str) -> tuple[requests.Session, str]:
    """A browser past the password step of ``username``; the CSRF token of the code form."""
    browser = requests.Session()
    response = live.login(base, username, browser=browser)
    assert response.headers["Location"] == "/mfa/authenticate/"
    return browser, live.form_token(browser, f"{base}/mfa/authenticate/")


def _at_once(count: int, send: Callable[[int], requests.Response]) -> list[requests.Response]:
    """``send(n)`` for n < count, in as many threads released together."""
    barrier = threading.Barrier(count)

    def released(n: int) -> requests.Response:
        barrier.wait(timeout=30)
        return send(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def _submit(base: str, browser: requests.Session, token: str, code: str) -> requests.Response:
    return browser.post(
        f"{base}/mfa/authenticate/",
        data={"code": code, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )


def _outcomes(stack: dict, user: str) -> dict:
    found = python_in(stack["env"], OUTCOMES.format(user=user))
    return {**found, "audit": dict(found["audit"])}


def test_twenty_wrong_codes_at_once_are_checked_up_to_the_limit_exactly(stack):
    base = stack["server"].base
    browser, token = _pending_sign_in(base, "dave")
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    totp = pyotp.TOTP(stack["secrets"]["dave"])
    now = time.time()
    valid = {totp.at(now + drift) for drift in (-30, 0, 30, 60)}
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in valid)

    answers = _at_once(
        WRONG_CODES,
        lambda _n: requests.post(
            f"{base}/mfa/authenticate/",
            data={"code": wrong, "csrfmiddlewaretoken": token},
            headers={"Cookie": cookie},
            allow_redirects=False,
            timeout=30,
        ),
    )

    # Four wrong-code pages, then the fifth wrong code locks: it and every later one is a 429.
    assert sorted(r.status_code for r in answers) == [200] * 4 + [429] * 16
    outcomes = _outcomes(stack, "dave")
    assert outcomes["audit"] == {
        "failure:wrong": MAX_ATTEMPTS,
        "denied:locked": WRONG_CODES - MAX_ATTEMPTS,
    }
    assert outcomes["locked"]


@pytest.mark.parametrize(
    ("user", "factor", "message"),
    [
        ("bob", "totp", "That code was already used"),
        ("erin", "recovery_code", "That recovery code was already used"),
    ],
)
def test_one_valid_code_from_ten_sessions_signs_in_once_and_locks_nobody_out(
    stack, user, factor, message
):
    base = stack["server"].base
    sessions = [_pending_sign_in(base, user) for _ in range(SESSIONS)]
    secrets = stack["secrets"]
    code = pyotp.TOTP(secrets[user]).now() if factor == "totp" else secrets["erin_codes"][0]

    answers = _at_once(SESSIONS, lambda n: _submit(base, *sessions[n], code))

    assert sorted(r.status_code for r in answers) == [200] * (SESSIONS - 1) + [302]
    losers = [r.text for r in answers if r.status_code == 200]
    assert all(message in text for text in losers)
    assert _outcomes(stack, user) == {
        "audit": {"success:": 1, "failure:used": SESSIONS - 1},
        "failures": 0,
        "locked": False,
    }
