"""Issue 15's acceptance test: resource servers written against stock libraries accept the
tokens issued for them and refuse tokens issued for anything else.

- django-oauth-toolkit's introspection client (``OAuth2Validator`` in resource-server mode, in
  its own process: ``tests/oauth/dot_resource_server.py``), calling our live introspection
  endpoint with the Orders API client's credentials; DOT prefix-matches an answer's ``aud``
  against its own URL and takes a token without ``aud`` as unrestricted.
- A strict JOSE check (PyJWT with ``audience=``, RFC 9068 §4) against our published JWKS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
import requests

from tests.conftest import basic_auth
from tests.oauth.test_live_clients import issuer  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

ORDERS = "https://orders.example.test/"
BILLING = "https://billing.example.test/"
DOT_RESOURCE_SERVER = Path(__file__).with_name("dot_resource_server.py")


@pytest.fixture
def world(issuer, make_client, make_api):  # noqa: F811 (the imported fixture)
    """The Orders and Billing APIs with their clients, and tokens of a service ``svc`` that may
    obtain tokens for both, requested over HTTP from the live server."""
    orders_rs = make_client(client_id="orders-rs")
    make_api(ORDERS, client=orders_rs[0], name="Orders API")
    make_api(BILLING, client=make_client(client_id="billing-rs")[0], name="Billing API")
    svc, secret = make_client(client_id="svc")
    svc.resources = [ORDERS, BILLING]
    svc.save()

    def token(*resource: str) -> str:
        response = requests.post(
            f"{issuer}/o/token/",
            data={"grant_type": "client_credentials", "resource": list(resource)},
            headers={"Authorization": basic_auth("svc", secret)},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    return {
        "issuer": issuer,
        "orders_rs": orders_rs,
        "for_orders": token(ORDERS),
        "for_billing": token(BILLING),
        "audience_less": token(),
    }


def dot_resource_server(base: str, credentials: tuple, tokens: list[str]) -> list[int]:
    """The statuses DOT's resource server at ORDERS answers for ``tokens``."""
    rs, secret = credentials
    spec = {
        "introspection_url": f"{base}/o/introspect/",
        "client_id": rs.client_id,
        "client_secret": secret,
        "host": "orders.example.test",
        "tokens": tokens,
    }
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, str(DOT_RESOURCE_SERVER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_dot_resource_server_accepts_its_tokens_and_refuses_the_others(world):
    statuses = dot_resource_server(
        world["issuer"],
        world["orders_rs"],
        [world["for_orders"], world["audience_less"], world["for_billing"], "not-a-token"],
    )
    assert statuses == [200, 200, 403, 403]


def test_a_strict_jose_resource_server_accepts_its_tokens_and_refuses_the_others(world):
    keys = jwt.PyJWKClient(f"{world['issuer']}/o/jwks/")

    def verify(token: str) -> dict:
        assert jwt.get_unverified_header(token)["typ"] == "at+jwt"  # RFC 9068 §2.1
        return jwt.decode(
            token,
            keys.get_signing_key_from_jwt(token).key,
            algorithms=["ES256", "RS256", "EdDSA"],
            audience=ORDERS,
            issuer=world["issuer"],
        )

    assert verify(world["for_orders"])["aud"] == [ORDERS]
    for other in (world["for_billing"], world["audience_less"]):
        with pytest.raises(jwt.InvalidAudienceError):
            verify(other)
