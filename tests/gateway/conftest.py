"""Fixtures for gateway tests: the registered API the gateway fronts, an API catalogue and tokens
for a reader and a service."""

import pytest
from django.test import Client

from core.actors import APPLY
from roles import services
from roles.services import AssignmentSpec
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
