"""A client's ``jwks_uri``: fetched only through the guarded fetcher (SECURITY.md item 86).

The JWKS host is a real HTTPS server on loopback with a certificate from a CA made here; the
tests that use it open 127.0.0.0/8 (``OUTBOUND_ALLOWED_NETWORKS``) and trust that CA
(``OUTBOUND_CA_BUNDLE``), as a developer would. Without them loopback is refused, before any
connection, and every failure is ``invalid_client``, answered fast.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError

from core import fetch
from tests.mtls import self_signed
from tests.oauth.client_auth.test_private_key_jwt import assertion_claims, request_token
from tests.outbound import JwksHost, Listener, make_tls_files

pytestmark = pytest.mark.django_db

LOOPBACK = ["127.0.0.0/8", "::1/128"]
FAST = 0.5  # seconds: a refused address is answered before any connection is tried


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def running_host(tls_files):
    host = JwksHost(tls_files[1], tls_files[2]).start()
    yield host
    host.stop()


@pytest.fixture
def signing_key():
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    public.update(kid="k1", use="sig", alg="ES256")
    return private, public


@pytest.fixture
def jwks_host(running_host, signing_key, settings, tls_files):
    """The TLS host serving the client's key set, with loopback opened for this test."""
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK
    settings.OUTBOUND_CA_BUNDLE = str(tls_files[0])
    running_host.hits.clear()
    running_host.cache = "public, max-age=600"
    running_host.jwks = {"keys": [signing_key[1]]}
    return running_host


@pytest.fixture
def later(clock):
    """Move the project's clock (the fetcher's cache ages by it) on by ``seconds``."""
    return clock.advance


def assertion(private, kid: str = "k1") -> str:
    return jwt.encode(assertion_claims(), private, algorithm="ES256", headers={"kid": kid})


def register(make_client, jwks_uri: str):
    client, _ = make_client(
        client_id="jwtclient",
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=jwks_uri,
        scopes=["orders:read"],
    )
    return client


def timed_token_request(http, signed: str):
    started = time.monotonic()
    response = request_token(http, signed)
    return response, time.monotonic() - started


def assert_invalid_client(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"


# --- a key set over real TLS ------------------------------------------------------------------


def test_a_jwks_over_tls_authenticates_and_is_fetched_once_while_fresh(
    client, jwks_host, signing_key, make_client
):
    register(make_client, jwks_host.url("/jwks"))
    for _ in range(3):
        response = request_token(client, assertion(signing_key[0]))
        assert response.status_code == 200, response.content
    assert jwks_host.hits["/jwks"] == 1  # Cache-Control: max-age=600 honoured


def test_a_certificate_from_another_ca_is_refused(
    client, jwks_host, signing_key, make_client, settings
):
    register(make_client, jwks_host.url("/jwks"))
    settings.OUTBOUND_CA_BUNDLE = ""  # certifi's CAs: they never signed the test certificate
    assert_invalid_client(request_token(client, assertion(signing_key[0])))


def test_unknown_kids_refetch_the_key_set_at_most_once(
    client, jwks_host, signing_key, make_client, later
):
    register(make_client, jwks_host.url("/jwks"))
    assert request_token(client, assertion(signing_key[0])).status_code == 200
    later(fetch.REFETCH_SECONDS + 1)
    for _ in range(6):
        kid = uuid.uuid4().hex
        assert_invalid_client(request_token(client, assertion(signing_key[0], kid=kid)))
    assert jwks_host.hits["/jwks"] == 2  # the first fetch, then one refetch for a new kid


def test_a_rotated_key_is_found_by_the_refetch(client, jwks_host, signing_key, make_client, later):
    register(make_client, jwks_host.url("/jwks"))
    assert request_token(client, assertion(signing_key[0])).status_code == 200
    later(fetch.REFETCH_SECONDS + 1)
    rotated = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(rotated.public_key()))
    public.update(kid="k2", use="sig", alg="ES256")
    jwks_host.jwks = {"keys": [signing_key[1], public]}
    response = request_token(client, assertion(rotated, kid="k2"))
    assert response.status_code == 200, response.content
    assert jwks_host.hits["/jwks"] == 2
    later(fetch.MAX_CACHE_SECONDS)
    assert request_token(client, assertion(rotated, kid="k2")).status_code == 200
    assert jwks_host.hits["/jwks"] == 3  # the copy expired: fetched again


def test_the_certificate_must_name_the_host_of_the_jwks_uri(
    client, jwks_host, signing_key, make_client, monkeypatch
):
    """The connection goes to the checked address, but TLS checks the URL's host name: a host
    that resolves to the JWKS server, whose certificate names only localhost, is refused."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "jwks.elsewhere.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    register(make_client, jwks_host.url("/jwks", host="jwks.elsewhere.test"))
    assert_invalid_client(request_token(client, assertion(signing_key[0])))
    assert jwks_host.hits["/jwks"] == 0


@pytest.mark.parametrize(
    "path", ["/big", "/slow", "/slow-headers", "/redirect", "/html", "/garbage", "/missing"]
)
def test_a_bad_key_set_answer_is_invalid_client_within_the_deadline(
    client, jwks_host, signing_key, make_client, path, monkeypatch
):
    # A 1 s deadline instead of the shipped 3 s: "/slow" trickles for much longer either way,
    # and the test need not wait out the production value to prove the deadline holds.
    monkeypatch.setattr(fetch, "DEADLINE_SECONDS", 1.0)
    register(make_client, jwks_host.url(path))
    response, elapsed = timed_token_request(client, assertion(signing_key[0]))
    assert_invalid_client(response)
    assert elapsed < fetch.DEADLINE_SECONDS + 1
    assert jwks_host.hits["/jwks"] == 0  # a redirect is not followed
    again, elapsed = timed_token_request(client, assertion(signing_key[0]))
    assert_invalid_client(again)
    assert elapsed < FAST and jwks_host.hits[path] == 1  # the failure is remembered


# --- refused addresses: no connection at all ----------------------------------------------


def test_a_jwks_uri_rebound_to_loopback_is_never_contacted(
    client, signing_key, make_client, monkeypatch
):
    """The name resolved to a public address at registration, and resolves to loopback now
    (DNS rebinding): the listener there must see no connection, and the answer comes at once."""
    listener = Listener()
    answers = {"jwks.rebind.test": "93.184.215.14"}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        register(make_client, f"https://jwks.rebind.test:{listener.port}/jwks")
        answers["jwks.rebind.test"] = "127.0.0.1"
        response, elapsed = timed_token_request(client, assertion(signing_key[0]))
        assert_invalid_client(response)
        assert elapsed < FAST
        assert listener.connections() == 0
    finally:
        listener.close()


def test_the_metadata_address_is_refused_without_a_connection_attempt(
    client, signing_key, make_client, settings, monkeypatch
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["169.254.0.0/16"]  # while it was registered
    register(make_client, "https://169.254.169.254/latest/meta-data/jwks")
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    attempts: list[object] = []

    class RecordingSocket(socket.socket):
        def connect(self, address):
            attempts.append(address)
            raise ConnectionRefusedError("the test allows no connection")

    monkeypatch.setattr(socket, "socket", RecordingSocket)
    response, elapsed = timed_token_request(client, assertion(signing_key[0]))
    assert_invalid_client(response)
    assert elapsed < FAST
    assert attempts == []


# --- registration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "https://127.0.0.1/jwks",
        "https://localhost:8443/jwks",
        "https://[::1]/jwks",
        "https://[::ffff:10.0.0.1]/jwks",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/jwks",
        "https://192.168.0.10/jwks",
        "https://0.0.0.0/jwks",
        "https://224.0.0.1/jwks",
        "http://jwks.example.com/keys",
        "ftp://jwks.example.com/keys",
    ],
)
def test_registering_a_jwks_uri_the_fetcher_refuses_fails(make_client, jwks_uri):
    with pytest.raises(ValidationError) as refused:
        register(make_client, jwks_uri)
    assert "jwks_uri" in refused.value.message_dict


def test_http_and_loopback_are_accepted_when_development_opens_them(make_client, settings):
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK
    assert register(make_client, "http://127.0.0.1:9000/jwks").jwks_uri


def test_a_public_name_that_does_not_resolve_yet_may_be_registered(make_client):
    assert register(make_client, "https://jwks.not-yet.invalid/keys").jwks_uri


def test_self_signed_tls_client_auth_finds_the_key_at_the_jwks_uri(
    client, make_client, jwks_host, later
):
    """The certificate's key is looked up through the guarded fetcher, and the set refetched
    when the key is not in the cached one (at most once per ``REFETCH_SECONDS``)."""
    mine, later_key = self_signed("device"), self_signed("device")
    jwks_host.jwks = mine.jwks()
    make_client(
        client_id="device",
        token_endpoint_auth_method="self_signed_tls_client_auth",
        jwks_uri=f"https://127.0.0.1:{jwks_host.port}/jwks",
    )
    form = {"grant_type": "client_credentials", "client_id": "device"}
    assert client.post("/o/token/", form, **mine.forwarded()).status_code == 200
    assert client.post("/o/token/", form, **later_key.forwarded()).status_code == 401
    jwks_host.jwks = {"keys": mine.jwks()["keys"] + later_key.jwks()["keys"]}  # a new key
    later(fetch.REFETCH_SECONDS + 1)
    assert client.post("/o/token/", form, **later_key.forwarded()).status_code == 200
