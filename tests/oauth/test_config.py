"""``manage.py apply``: the ``apis`` section and client ``resources``, in either order."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from audit.models import AuditEvent
from oauth import apis
from oauth.models import Api, Client
from tests.configfiles import apply

pytestmark = pytest.mark.django_db

APIS = """
apis:
  - identifier: https://orders.example.com/
    name: Orders API
    client: orders-rs
    scopes: [orders:read, orders:write]
    access_token_lifetime: 300
"""
CLIENTS = """
clients:
  - client_id: webapp
    grant_types: [authorization_code]
    redirect_uris: [https://app.example.com/cb]
    resources: [https://orders.example.com/, management]
  - client_id: orders-rs
    grant_types: [client_credentials]
"""


def registered() -> set[str]:
    return set(Api.objects.exclude(builtin=True).values_list("identifier", flat=True))


@pytest.mark.parametrize(
    "text", [APIS + CLIENTS, CLIENTS + APIS], ids=["apis-first", "clients-first"]
)
def test_apis_and_clients_may_name_each_other_in_either_order(tmp_path, text):
    """An API's client is defined in the same file, and a client's resources name that API."""
    out, _ = apply(tmp_path, text, "--json")
    result = json.loads(out)
    orders = Api.objects.get(identifier="https://orders.example.com/")
    assert result["apis"] == {orders.identifier: {"id": orders.pk}}
    assert set(result["clients"]) == {"webapp", "orders-rs"}  # their secrets, once
    assert (orders.name, orders.client.client_id) == ("Orders API", "orders-rs")
    assert (orders.scopes, orders.access_token_lifetime) == (["orders:read", "orders:write"], 300)
    webapp = Client.objects.get(client_id="webapp")
    assert webapp.resources == ["https://orders.example.com/", "management"]
    assert apis.client_audiences(webapp.resources) == {
        "https://orders.example.com/",
        apis.management_audience(),
    }
    [event] = AuditEvent.objects.filter(event="api.created")
    assert event.actor == "apply"

    again, _ = apply(tmp_path, text)
    assert again.strip() == "nothing to change"
    assert AuditEvent.objects.filter(event__startswith="api.").count() == 1


def test_named_api_fields_change_and_the_rest_stay(tmp_path):
    apply(tmp_path, APIS + CLIENTS)
    out, _ = apply(
        tmp_path,
        """
apis:
  - identifier: https://orders.example.com/
    name: Orders
    access_token_lifetime: null
  - identifier: management
    name: Admin API
clients:
  - client_id: webapp
    resources: [management]
""",
    )
    assert "updated API https://orders.example.com/" in out and "updated API management" in out
    orders = Api.objects.get(identifier="https://orders.example.com/")
    assert (orders.name, orders.access_token_lifetime) == ("Orders", None)
    assert orders.client.client_id == "orders-rs" and orders.scopes == [
        "orders:read",
        "orders:write",
    ]
    assert Api.objects.get(identifier="management").name == "Admin API"
    assert Client.objects.get(client_id="webapp").resources == ["management"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "apis: [{identifier: 'https://a.example/', name: A, colour: red}]",
            "apis[0] (https://a.example/): unknown field 'colour'",
        ),
        ("apis: [{name: A}]", "apis[0]: missing required field 'identifier'"),
        (
            "apis: [{identifier: orders, name: A}]",
            "apis[0] (orders).identifier: must be an absolute URI",
        ),
        (
            "apis: [{identifier: 'https://a.example/', name: A, scopes: ['a b']}]",
            "apis[0] (https://a.example/).scopes: 'a b' is not a scope name",
        ),
        (
            "apis: [{identifier: 'https://a.example/', name: A, access_token_lifetime: 0}]",
            ".access_token_lifetime: must be a whole number of seconds from 1 to 86400",
        ),
        (
            "apis: [{identifier: 'https://a.example/', name: A, client: nobody}]",
            "apis[0] (https://a.example/).client: unknown client 'nobody'",
        ),
        (
            "apis: [{identifier: 'https://a.example/', name: A},"
            " {identifier: 'https://a.example/', name: B}]",
            "'https://a.example/' appears twice",
        ),
        ("apis: [{identifier: 'https://a.example/'}]", "apis[0] (https://a.example/): name:"),
        (
            "apis: [{identifier: management, scopes: [other]}]",
            "apis[0] (management): scopes: the built-in management API keeps it",
        ),
        (
            "clients: [{client_id: x, resources: ['https://unknown.example/']}]",
            "clients[0] (x).resources: unknown API 'https://unknown.example/'",
        ),
        (
            "clients: [{name: X, resources: [management]}]",
            "clients[0].resources: needs 'client_id'",
        ),
        ("clients: [{client_id: x, resources: management}]", "must be a list of strings"),
    ],
)
def test_invalid_api_entries_abort_naming_the_place_and_writing_nothing(tmp_path, text, message):
    text = "users: [{username: carol, password: 'a long passphrase'}]\n" + text
    with pytest.raises(CommandError) as excinfo:
        apply(tmp_path, text)
    assert message in str(excinfo.value)
    assert str(tmp_path / "config.yaml") in str(excinfo.value)
    assert not User.objects.exists() and not Client.objects.exists() and not registered()
    assert Api.objects.get(identifier="management").scopes == ["management"]


def test_quickstart_example_applies_twice(settings):
    first, second = StringIO(), StringIO()
    call_command("apply", str(settings.BASE_DIR / "examples/quickstart.yaml"), stdout=first)
    call_command("apply", str(settings.BASE_DIR / "examples/quickstart.yaml"), stdout=second)
    assert "created API" in first.getvalue()
    assert second.getvalue().strip() == "nothing to change"
    assert Client.objects.get(client_id="webapp").resources
