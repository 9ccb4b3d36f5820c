"""RFC 7662 §4, RFC 9700 §2.3: introspection answers the token's audience only.

A caller learns ``active: true`` only as the client of a registered API in the token's ``aud``,
as any registered API's client for an audience-less token, or as the token's own client; anyone
else gets exactly ``{"active": false}``.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.actors import APPLY, SystemActor
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.conftest import REDIRECT_URI, basic_auth, introspect

pytestmark = pytest.mark.django_db

ORDERS = "https://orders.example.test/"
BILLING = "https://billing.example.test/"
INACTIVE = {"active": False}


@pytest.fixture
def orders_rs(make_client, make_api):
    """The Orders API and its client: (client, secret)."""
    rs = make_client(client_id="orders-rs", name="Orders API")
    make_api(ORDERS, client=rs[0], name="Orders API")
    return rs


@pytest.fixture
def billing_rs(make_client, make_api):
    rs = make_client(client_id="billing-rs", name="Billing API")
    make_api(BILLING, client=rs[0], name="Billing API")
    return rs


@pytest.fixture
def other_app(make_client):
    """A plain web app, no API's client."""
    return make_client(
        client_id="otherapp",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
    )


@pytest.fixture
def alice_reads_orders(code_flow):
    role_services.role_create(actor=APPLY, name="orders-reader", permissions=["orders:read"])
    role_services.user_roles_set(
        user=code_flow.browser.user, assignments=[AssignmentSpec("orders-reader")]
    )
    code_flow.client_obj.resources = [ORDERS, BILLING]
    code_flow.client_obj.save()
    return code_flow


def test_a_plain_web_app_learns_nothing_of_another_apps_user_token(
    code_flow, client, other_app, orders_rs
):
    access = code_flow.tokens()["access_token"]
    assert introspect(client, other_app, access) == INACTIVE
    assert introspect(client, orders_rs, access)["active"] is True  # the token is live


def test_another_apis_client_sees_a_token_for_orders_as_inactive(
    alice_reads_orders, client, orders_rs, billing_rs
):
    access = alice_reads_orders.tokens(resource=ORDERS)["access_token"]
    assert introspect(client, billing_rs, access) == INACTIVE


def test_the_audiences_client_sees_it_active_with_roles(alice_reads_orders, client, orders_rs):
    access = alice_reads_orders.tokens(resource=ORDERS)["access_token"]
    answer = introspect(client, orders_rs, access)
    assert answer["active"] is True and answer["aud"] == [ORDERS]
    assert answer["username"] == "alice" and answer["roles"] == ["orders-reader"]
    assert answer["permissions"] == ["orders:read"]


def test_an_audience_less_token_is_active_for_any_apis_client_without_aud(
    alice_reads_orders, client, orders_rs, billing_rs
):
    access = alice_reads_orders.tokens()["access_token"]
    for rs in (orders_rs, billing_rs):
        answer = introspect(client, rs, access)
        assert answer["active"] is True and "aud" not in answer
        assert answer["roles"] == ["orders-reader"]


def test_the_tokens_own_client_sees_it_active(alice_reads_orders, client, orders_rs):
    flow = alice_reads_orders
    access = flow.tokens(resource=ORDERS)["access_token"]
    answer = introspect(client, (flow.client_obj, flow.secret), access)
    assert answer["active"] is True and answer["client_id"] == "webapp"


def test_a_client_token_for_one_api_is_inactive_for_another(
    client, make_client, orders_rs, billing_rs
):
    svc, secret = make_client(client_id="svc")
    svc.resources = [ORDERS]
    svc.save()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "resource": ORDERS},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    token = response.json()["access_token"]
    assert introspect(client, billing_rs, token) == INACTIVE
    assert introspect(client, orders_rs, token)["aud"] == [ORDERS]
    assert introspect(client, (svc, secret), token)["active"] is True


def test_a_warm_answer_for_the_audience_makes_no_query(
    alice_reads_orders, client, orders_rs, billing_rs
):
    """Both answers are cached per (token, caller): a warm call reads nothing but the change
    counters (which tests poll on every request; production listens for their signal)."""
    access = alice_reads_orders.tokens(resource=ORDERS)["access_token"]
    introspect(client, orders_rs, access)
    introspect(client, billing_rs, access)
    with CaptureQueriesContext(connection) as captured:
        assert introspect(client, orders_rs, access)["active"] is True
        assert introspect(client, billing_rs, access) == INACTIVE
    assert [q["sql"] for q in captured] == ["SELECT name, value FROM core_generation"] * 2


def test_an_api_key_is_answered_to_any_apis_client_or_its_owner_only(
    client, make_client, orders_rs, other_app
):
    from apikeys import services as key_services

    owner, owner_secret = make_client(client_id="key-owner")
    _key, full = key_services.api_key_create(name="ci", client=owner, actor=SystemActor("test"))
    assert introspect(client, other_app, full) == INACTIVE
    assert introspect(client, orders_rs, full)["active"] is True
    assert introspect(client, (owner, owner_secret), full)["client_id"] == "key-owner"
