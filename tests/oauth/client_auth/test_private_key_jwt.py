"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9)."""

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.cache import cache

from core import generations
from oauth.maintenance import expired_clear
from oauth.models import AssertionJti

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{settings.ISSUER_URL}/o/token/"


def assertion_claims(lifetime: int = 60, **overrides) -> dict:
    """The claims of a fresh assertion of client ``jwtclient`` (RFC 7523 §3), valid for
    ``lifetime`` seconds from now."""
    now = int(time.time())
    claims = {
        "iss": "jwtclient",
        "sub": "jwtclient",
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return claims


@pytest.fixture
def signer(make_client):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    public_jwk.update(kid="k1", use="sig", alg="RS256")
    make_client(
        client_id="jwtclient",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public_jwk]},
        scopes=["orders:read"],
    )

    def assertion(**overrides):
        claims = assertion_claims(**overrides)
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})

    return assertion


def request_token(client, assertion):
    return client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": "orders:read",
        },
    )


def test_signed_assertion_authenticates_the_client(client, signer):
    response = request_token(client, signer())
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == "jwtclient"


def test_an_assertion_is_single_use(client, signer):
    assertion = signer()
    assert request_token(client, assertion).status_code == 200
    replay = request_token(client, assertion)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"


def test_a_replay_is_refused_by_another_worker(client, signer):
    """Another worker process shares the database and nothing else: its caches are empty."""
    assertion = signer()
    assert request_token(client, assertion).status_code == 200
    cache.clear()
    generations.clear_all()
    replay = request_token(client, assertion)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    assert AssertionJti.objects.filter(client_id="jwtclient").count() == 1


def test_a_used_jti_is_purged_once_its_assertion_has_expired(client, signer):
    from datetime import timedelta

    from django.utils import timezone

    assert request_token(client, signer()).status_code == 200
    assert expired_clear().assertion_jtis == 0
    assert expired_clear(now=timezone.now() + timedelta(seconds=120)).assertion_jtis == 1
    assert not AssertionJti.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://other.example/token"},
        {"exp": int(time.time()) - 120},
        {"iss": "someone-else"},
        {"exp": int(time.time()) + 3600},
        {"lifetime": 400},  # over five minutes ahead (from when the test runs)
        {"jti": None},
        {"jti": ""},
        {"jti": "j" * 300},
    ],
)
def test_bad_assertions_are_rejected(client, signer, overrides):
    response = request_token(client, signer(**overrides))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_assertion_signed_by_another_key_is_rejected(client, signer):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode(
        {"iss": "jwtclient", "sub": "jwtclient", "aud": TOKEN_URL, "exp": now + 60, "jti": "x"},
        stranger,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    assert request_token(client, forged).status_code == 401


def test_jwt_client_cannot_fall_back_to_a_secret(client, signer):
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "jwtclient", "client_secret": ""},
    )
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_jwks_uri_is_fetched_outside_the_token_transaction(client, signer, monkeypatch):
    """In the embedded mode a transaction holds the database's writer lock: the key set (a
    network fetch of up to its deadline) is fetched before the token view opens one."""
    from django.db import connection

    from core import fetch
    from oauth.models import Client

    app = Client.objects.get(client_id="jwtclient")
    key_set = app.jwks
    Client.objects.filter(pk=app.pk).update(jwks=None, jwks_uri="https://keys.example.test/")
    generations.clear_all()
    in_transaction = []

    def fetched(url, **kwargs):
        in_transaction.append(connection.in_atomic_block)
        return key_set

    monkeypatch.setattr(fetch, "fetch_json", fetched)
    response = client.post(
        "/o/token/",
        {
            "grant_type": "refresh_token",  # run in a transaction; jwtclient may not use it
            "refresh_token": "unknown",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signer(),
        },
    )
    # authenticated by the fetched key (else invalid_client), then refused the grant
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    assert in_transaction and in_transaction[0] is False
