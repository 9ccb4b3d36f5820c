"""Fixtures for gateway tests: the registered API the gateway fronts, an API catalogue and tokens
for a reader and a service."""

import threading
from http.server import ThreadingHTTPServer

import pytest
from django.test import Client

from core.actors import APPLY
from core.proxy import TrustedProxies, parse_networks
from roles import services
from roles.services import AssignmentSpec
from tests.gateway import nginx
from tests.outbound import make_tls_files
from tests.roles.conftest import client_credentials_token

ORDERS_API = "https://orders.example.test/"


@pytest.fixture
def orders_api(make_api):
    """The registered API behind the gateway."""
    return make_api(ORDERS_API, name="Orders API")


@pytest.fixture
def client(orders_api):
    """Django's test client, calling as the configured gateway does: naming the API it fronts
    (``X-Auth-Audience``, set per location in the gateway's configuration)."""
    return Client(HTTP_X_AUTH_AUDIENCE=ORDERS_API)


@pytest.fixture
def tokens(client, make_client):
    services.role_create(actor=APPLY, name="orders-reader", permissions=["GET /api/orders/**"])
    services.role_create(
        actor=APPLY,
        name="orders-writer",
        parents=["orders-reader"],
        permissions=["POST /api/orders"],
    )
    reader, reader_secret = make_client(client_id="reader-svc")
    services.client_roles_set(client=reader, assignments=[AssignmentSpec("orders-reader")])
    writer, writer_secret = make_client(client_id="writer-svc")
    services.client_roles_set(client=writer, assignments=[AssignmentSpec("orders-writer")])
    return {
        "reader": client_credentials_token(client, "reader-svc", reader_secret),
        "writer": client_credentials_token(client, "writer-svc", writer_secret),
        "reader_secret": reader_secret,
    }


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), nginx.Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def trusting_live_server(live_server):
    """pytest-django's live server behind ``core.proxy.TrustedProxies`` (as authserver/wsgi.py
    serves), trusting 127.0.0.1, where nginx connects from."""
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    httpd.set_app(TrustedProxies(app, parse_networks(["127.0.0.1/32"])))
    yield live_server
    httpd.set_app(app)


@pytest.fixture
def nginx_server(trusting_live_server, upstream, tmp_path, orders_api):
    authserver = trusting_live_server.url.removeprefix("http://")
    (tmp_path / "tls").mkdir()
    server = nginx.start(
        tmp_path,
        make_tls_files(tmp_path / "tls"),
        AUTHSERVER=authserver.replace("localhost", "127.0.0.1"),
        AUTHSERVER_HOST="localhost",
        UPSTREAM=upstream,
        API=orders_api.identifier,
    )
    yield server
    server.stop()


@pytest.fixture
def gateway(nginx_server):
    return nginx_server.http
