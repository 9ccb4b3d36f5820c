"""Two stateless instances sharing PostgreSQL and Redis behave as one server.

A token issued by one is introspected, refreshed and revoked through the other; a sign-in on
one is a sign-in on both; a client change is seen by the other's next request; metrics merge
the workers of an instance.
"""

from __future__ import annotations

import pytest
import requests

from tests.ops import live
from tests.ops.servers import python_in

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def two_instances(start_shared_app):
    # Instances behind one load balancer share one issuer (tokens name it and are checked
    # against it), whatever port each listens on.
    issuer = "http://auth.example.test"
    return (
        start_shared_app(WEB_CONCURRENCY="2", ISSUER_URL=issuer),
        start_shared_app(ISSUER_URL=issuer),
    )


def test_tokens_move_freely_between_instances(two_instances, prod_stack):
    a, b = two_instances
    web_secret, rs_secret = prod_stack["secrets"]["webapp"], prod_stack["secrets"]["rs1"]

    browser = requests.Session()
    assert live.login(a.base, browser=browser).status_code == 302  # signed in on A ...
    code, verifier = live.authorize(b.base, browser)  # ... and authorized on B
    web = ("webapp", web_secret)
    tokens = live.exchange(a.base, code, verifier, web)
    assert tokens.status_code == 200, tokens.text
    tokens = tokens.json()

    assert live.introspect(b.base, tokens["access_token"], "rs1", rs_secret).json()["active"]
    refreshed = live.refresh(b.base, tokens["refresh_token"], web)
    assert refreshed.status_code == 200
    new = refreshed.json()
    # The rotated-out refresh token, replayed on the other instance:
    replay = live.refresh(a.base, tokens["refresh_token"], web)
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
        "from core.actors import APPLY\n"
        "from oauth import services\n"
        "client, secret = services.client_create(actor=APPLY, spec={'client_id': 'batch',"
        " 'name': 'Batch', 'type': 'confidential', 'grant_types': ['client_credentials']})\n"
        "print(json.dumps(secret))",
    )
    for server in (a, b):  # both instances have the client cached now
        assert live.client_credentials(server.base, "batch", secret).status_code == 200

    python_in(
        prod_stack["env"],
        "import json\n"
        "from core.actors import APPLY\n"
        "from oauth import services\n"
        "from oauth.models import Client\n"
        "services.client_update(actor=APPLY, client=Client.objects.get(client_id='batch'),"
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
