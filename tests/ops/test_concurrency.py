"""Races on PostgreSQL, through real servers: one code or refresh token, many concurrent uses.

Row locks serialise the redemptions, so exactly one wins; the losers present a used code or a
rotated refresh token, which (RFC 6749 §4.1.2, RFC 9700 §4.14.2 with no grace period) revokes
what the winner received.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.ops import live

pytestmark = pytest.mark.live

RACERS = 20


@pytest.fixture(scope="module")
def servers(start_shared_app):
    return start_shared_app(WEB_CONCURRENCY="3"), start_shared_app(WEB_CONCURRENCY="3")


def _race(call, servers) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        futures = [pool.submit(call, servers[n % 2].base) for n in range(RACERS)]
        return [future.result() for future in futures]


def _fresh_tokens(servers, web) -> dict:
    browser = requests.Session()
    assert live.login(servers[0].base, browser=browser).status_code == 302
    code, verifier = live.authorize(servers[0].base, browser)
    return live.exchange(servers[1].base, code, verifier, web).json()


def test_one_code_redeemed_concurrently_issues_tokens_once(servers, prod_stack):
    web = ("webapp", prod_stack["secrets"]["webapp"])
    browser = requests.Session()
    assert live.login(servers[0].base, browser=browser).status_code == 302
    code, verifier = live.authorize(servers[0].base, browser)

    answers = _race(lambda base: live.exchange(base, code, verifier, web), servers)

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [400] * (RACERS - 1)
    assert {r.json()["error"] for r in answers if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in answers if r.status_code == 200)
    rs = ("rs1", prod_stack["secrets"]["rs1"])
    assert not live.introspect(servers[0].base, winner["access_token"], *rs).json()["active"]


def test_one_refresh_token_used_concurrently_rotates_once(servers, prod_stack):
    web = ("webapp", prod_stack["secrets"]["webapp"])
    tokens = _fresh_tokens(servers, web)

    answers = _race(lambda base: live.refresh(base, tokens["refresh_token"], web), servers)

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [400] * (RACERS - 1)
    assert {r.json()["error"] for r in answers if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in answers if r.status_code == 200)
    # The replays revoked the family: the winner's new refresh token is refused too.
    assert live.refresh(servers[1].base, winner["refresh_token"], web).status_code == 400
    rs = ("rs1", prod_stack["secrets"]["rs1"])
    assert not live.introspect(servers[0].base, winner["access_token"], *rs).json()["active"]
