"""Mutual TLS through the real nginx (examples/nginx/nginx.conf.template): real TLS connections
with client certificates (``requests``' ``cert=``), nginx accepting any certificate
(``optional_no_ca``) and forwarding ``$ssl_client_escaped_cert`` to the token endpoint and to the
gateway's decision endpoint, which judge it."""

import jwt
import pytest
import requests

from roles import services
from roles.services import AssignmentSpec
from tests.gateway.nginx import pytestmark  # noqa: F401 - live, transactional, needs nginx
from tests.mtls import Ca, self_signed

CA = Ca()
BOT = CA.issue("orders-bot")


@pytest.fixture
def bots(make_client, settings, tmp_path, tokens):
    """``orders-bot`` (tls_client_auth, certificate-bound tokens, the orders-reader role) and
    ``device`` (self_signed_tls_client_auth); the client certificates as files."""
    settings.TLS_CLIENT_CA_FILE = CA.write(tmp_path / "client-ca.pem")
    bot, _ = make_client(
        client_id="orders-bot",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn="CN=orders-bot,O=Example",
        tls_client_certificate_bound_access_tokens=True,
    )
    services.client_roles_set(client=bot, assignments=[AssignmentSpec("orders-reader")])
    device = self_signed("device")
    make_client(
        client_id="device",
        token_endpoint_auth_method="self_signed_tls_client_auth",
        jwks=device.jwks(),
    )
    return {
        "bot": BOT.files(tmp_path, "bot"),
        "impostor": Ca("Rogue CA").issue("orders-bot").files(tmp_path, "impostor"),
        "device": device.files(tmp_path, "device"),
        "stranger": self_signed("device").files(tmp_path, "stranger"),
    }


def token(nginx, client_id, cert):
    return requests.post(
        f"{nginx.https}/o/token/",
        data={"grant_type": "client_credentials", "client_id": client_id},
        cert=cert,
        verify=nginx.ca,
        timeout=10,
    )


def test_tls_client_auth_and_self_signed_through_nginx(nginx_server, bots):
    response = token(nginx_server, "orders-bot", bots["bot"])
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": BOT.x5t}
    refused = token(nginx_server, "orders-bot", bots["impostor"])  # same DN, another CA
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert token(nginx_server, "orders-bot", None).status_code == 400  # bound: needs one

    assert token(nginx_server, "device", bots["device"]).status_code == 200
    assert token(nginx_server, "device", bots["stranger"]).status_code == 401  # key not in JWKS


def test_a_bound_token_passes_the_gateway_only_with_its_certificate(nginx_server, bots):
    access = token(nginx_server, "orders-bot", bots["bot"]).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    url = f"{nginx_server.https}/api/orders/7"
    ok = requests.get(url, headers=bearer, cert=bots["bot"], verify=nginx_server.ca, timeout=10)
    assert ok.status_code == 200 and ok.json()["x-auth-subject"] == "orders-bot"
    for cert in (None, bots["impostor"], bots["device"]):
        refused = requests.get(url, headers=bearer, cert=cert, verify=nginx_server.ca, timeout=10)
        assert refused.status_code == 401
        assert "TLS client certificate" in refused.headers["WWW-Authenticate"]
    # a header of the client's own is overwritten by nginx: no certificate reaches authserver
    spoofed = {**bearer, "X-SSL-Client-Cert": BOT.nginx_header()}
    plain = requests.get(f"{nginx_server.http}/api/orders/7", headers=spoofed, timeout=10)
    assert plain.status_code == 401
