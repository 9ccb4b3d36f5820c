"""The embedded default (SQLite, in-process cache) under gunicorn with five workers: state that
makes a single-use rule is shared by every worker, not kept per process."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from tests.ops.servers import AppServer, migrated_embedded_env, python_in

pytestmark = pytest.mark.live

WORKERS = 5
REPLAYS = 12

SEED_JWT_CLIENT = """
import json
from core.actors import APPLY
from oauth import services
services.client_create(actor=APPLY, spec={{
    "client_id": "jwtclient", "type": "confidential", "grant_types": ["client_credentials"],
    "token_endpoint_auth_method": "private_key_jwt", "jwks": {{"keys": [{jwk}]}},
}})
print(json.dumps("ok"))
"""


@pytest.fixture(scope="module")
def signing_key():
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    public.update(kid="k1", use="sig", alg="ES256")
    return private, public


@pytest.fixture(scope="module")
def embedded_app(tmp_path_factory, signing_key):
    """``make run``'s mode: no DATABASE_URL or REDIS_URL, several gunicorn workers."""
    workdir = tmp_path_factory.mktemp("embedded")
    env = migrated_embedded_env(workdir)
    python_in(env, SEED_JWT_CLIENT.format(jwk=json.dumps(signing_key[1])))
    server = AppServer(env, workdir, WEB_CONCURRENCY=str(WORKERS))
    server.start()
    yield server
    server.stop()


def test_a_client_assertion_is_accepted_once_across_workers(embedded_app, signing_key):
    issuer = embedded_app.base
    now = int(time.time())
    claims = {
        "iss": "jwtclient",
        "sub": "jwtclient",
        "aud": f"{issuer}/o/token/",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    assertion = jwt.encode(claims, signing_key[0], algorithm="ES256", headers={"kid": "k1"})
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }

    def post(_: int) -> int:
        return requests.post(f"{issuer}/o/token/", data=form, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=REPLAYS) as pool:  # spread over the workers
        statuses = list(pool.map(post, range(REPLAYS)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) - {200} <= {401, 429}, statuses
