"""Two stateless instances sharing PostgreSQL and Redis behave as one server.

A token issued by one is introspected, refreshed and revoked through the other; a sign-in on
one is a sign-in on both; a client change is seen by the other's next request; metrics merge
the workers of an instance.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import REDIRECT_URI
from tests.flows import pkce_pair
from tests.ops import live
from tests.ops.servers import python_in

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def two_instances(start_shared_app):
    return start_shared_app(WEB_CONCURRENCY="2"), start_shared_app()


def test_tokens_move_freely_between_instances(two_instances, prod_stack):
    a, b = two_instances
    web_secret, rs_secret = prod_stack["secrets"]["webapp"], prod_stack["secrets"]["rs1"]

    browser = requests.Session()
    assert live.login(a.base, browser=browser).status_code == 302  # signed in on A ...
    verifier, challenge = pkce_pair()
    authorized = browser.get(  # ... and authorized on B, with the same session
        f"{b.base}/o/authorize/",
        params={
            "response_type": "code",
            "client_id": "webapp",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid offline_access",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert authorized.status_code == 302
    code = parse_qs(urlsplit(authorized.headers["Location"]).query)["code"][0]
    tokens = requests.post(
        f"{a.base}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=("webapp", web_secret),
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    tokens = tokens.json()

    assert live.introspect(b.base, tokens["access_token"], "rs1", rs_secret).json()["active"]
    refreshed = requests.post(
        f"{b.base}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("webapp", web_secret),
        timeout=10,
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    replay = requests.post(  # the rotated-out refresh token, replayed on the other instance
        f"{a.base}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("webapp", web_secret),
        timeout=10,
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # Reuse detection revoked the family everywhere: the new tokens are dead on both.
    assert not live.introspect(a.base, new["access_token"], "rs1", rs_secret).json()["active"]
    assert not live.introspect(b.base, new["access_token"], "rs1", rs_secret).json()["active"]

    machine = live.client_credentials(b.base, "machine", prod_stack["secrets"]["machine"])
    access = machine.json()["access_token"]
    revoked = requests.post(
        f"{a.base}/o/revoke_token/",
        data={"token": access},
        auth=("machine", prod_stack["secrets"]["machine"]),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert not live.introspect(b.base, access, "rs1", rs_secret).json()["active"]


def test_a_client_change_is_seen_by_the_next_request_on_every_instance(two_instances, prod_stack):
    a, b = two_instances
    secret = python_in(
        prod_stack["env"],
        "import json\n"
        "from oauth import services\n"
        "client, secret = services.client_create(spec={'client_id': 'batch', 'name': 'Batch',"
        " 'type': 'confidential', 'grant_types': ['client_credentials']})\n"
        "print(json.dumps(secret))",
    )
    for server in (a, b):  # both instances have the client cached now
        assert live.client_credentials(server.base, "batch", secret).status_code == 200

    python_in(
        prod_stack["env"],
        "import json\n"
        "from oauth import services\n"
        "from oauth.models import Client\n"
        "services.client_update(client=Client.objects.get(client_id='batch'),"
        " spec={'is_active': False})\n"
        "print(json.dumps(True))",
    )
    for server in (a, b):
        refused = live.client_credentials(server.base, "batch", secret)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_metrics_merge_the_workers_of_an_instance(two_instances, prod_stack):
    a, _ = two_instances
    for _ in range(6):
        live.client_credentials(a.base, "machine", prod_stack["secrets"]["machine"])
    text = requests.get(f"{a.base}/metrics", timeout=10).text
    line = next(
        x
        for x in text.splitlines()
        if x.startswith("authserver_token_requests_total{")
        and 'client="machine"' in x
        and 'outcome="issued"' in x
    )
    assert float(line.rsplit(" ", 1)[1]) == 6.0
