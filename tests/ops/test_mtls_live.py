"""Mutual TLS with gunicorn terminating TLS itself (TLS_CERTFILE/TLS_KEYFILE and
TLS_CLIENT_CA_FILE): real TLS 1.3 connections with client certificates made by the test. The
handshake asks for an optional certificate and verifies it against TLS_CLIENT_CA_FILE; the
worker hands the verified certificate to the application."""

from collections.abc import Iterator

import jwt
import pytest
import requests

from tests.mtls import Ca, self_signed
from tests.ops.servers import AppServer, migrated_embedded_env, seed
from tests.outbound import make_tls_files

pytestmark = pytest.mark.live

CA = Ca()
BOT = CA.issue("orders-bot", uris=("spiffe://example.com/orders-bot",))
SPECS = [
    {
        "client_id": "orders-bot",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "tls_client_auth",
        "tls_client_auth_san_uri": "spiffe://example.com/orders-bot",
        "tls_client_certificate_bound_access_tokens": True,
    },
    {"client_id": "pdp-caller", "grant_types": ["client_credentials"]},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("mtls")
    (work / "tls").mkdir()
    server_ca, cert, key = make_tls_files(work / "tls")
    env = {**migrated_embedded_env(work), "TLS_CLIENT_CA_FILE": CA.write(work / "client-ca.pem")}
    seed(env, "correct horse battery staple", SPECS)
    app = AppServer(env, work, TLS_CERTFILE=str(cert), TLS_KEYFILE=str(key))
    app.env["ISSUER_URL"] = f"https://localhost:{app.port}"
    app.start_tls(server_ca)
    yield {
        "base": f"https://localhost:{app.port}",
        "ca": str(server_ca),
        "bot": BOT.files(work, "bot"),
        "rogue": Ca("Rogue CA").issue("orders-bot").files(work, "rogue"),
        "self_signed": self_signed("orders-bot").files(work, "self-signed"),
    }
    app.stop()


def post(server, path, cert, **kwargs):
    return requests.post(
        f"{server['base']}{path}", cert=cert, verify=server["ca"], timeout=10, **kwargs
    )


def test_tls_client_auth_over_our_own_handshake(server):
    response = post(
        server,
        "/o/token/",
        server["bot"],
        data={"grant_type": "client_credentials", "client_id": "orders-bot"},
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == "orders-bot" and claims["cnf"] == {"x5t#S256": BOT.x5t}
    # without a certificate the connection is served, and the client is not authenticated
    anonymous = post(
        server, "/o/token/", None, data={"grant_type": "client_credentials", "client_id": "x"}
    )
    assert anonymous.status_code == 401


@pytest.mark.parametrize("cert", ["rogue", "self_signed"])
def test_a_certificate_the_client_ca_did_not_sign_fails_the_handshake(server, cert):
    """Python's ssl verifies at the handshake, with no callback to let others through: over a
    direct connection only certificates of TLS_CLIENT_CA_FILE arrive (self-signed ones come
    through a proxy that accepts any: tests/gateway/test_nginx_mtls.py)."""
    with pytest.raises(requests.exceptions.ConnectionError):
        post(
            server,
            "/o/token/",
            server[cert],
            data={"grant_type": "client_credentials", "client_id": "orders-bot"},
        )


def test_a_bound_token_at_a_door_needs_the_same_certificate(server):
    access = post(
        server,
        "/o/token/",
        server["bot"],
        data={"grant_type": "client_credentials", "client_id": "orders-bot"},
    ).json()["access_token"]
    call = {
        "json": {
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "resource": {"type": "doc", "id": "1"},
        },
        "headers": {"Authorization": f"Bearer {access}"},
    }
    # with its certificate the caller is known (and lacks the evaluate permission: 403) ...
    assert post(server, "/access/v1/evaluation", server["bot"], **call).status_code == 403
    # ... without it, it is not
    refused = post(server, "/access/v1/evaluation", None, **call)
    assert refused.status_code == 401
