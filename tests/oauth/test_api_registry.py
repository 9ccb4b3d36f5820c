"""Registered APIs: the services that create, change and delete them, and client resources."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from audit.models import AuditEvent
from core.actors import APPLY, SystemActor
from oauth import api_services, apis
from oauth import services as client_services
from oauth.api_selectors import api_usage_of
from oauth.models import Api, Client
from tests.conftest import basic_auth
from tests.oauth.apis import ORDERS, allow, register_api, tokens_for

pytestmark = pytest.mark.django_db


def errors_of(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.message_dict


def management() -> Api:
    return Api.objects.get(identifier=apis.MANAGEMENT)


def test_registering_an_api_makes_it_an_audience_and_is_audited(make_client):
    make_client(client_id="orders-rs")
    api = register_api(client="orders-rs", scopes=["orders:read", "orders:write"])
    info = apis.api_for_audience(ORDERS)
    assert info is not None and info.client_id == "orders-rs"
    assert info.scopes == ("orders:read", "orders:write")
    [event] = AuditEvent.objects.filter(event="api.created")
    assert (event.actor, event.target) == ("test", f"api:{ORDERS}")
    assert event.data["client"] == "orders-rs" and event.data["scopes"] == list(api.scopes)


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"identifier": "orders"}, "identifier", "absolute URI"),
        ({"identifier": "https://orders.example.test/#x"}, "identifier", "fragment"),
        ({"identifier": "https://orders.example.test/a b"}, "identifier", "RFC 3986"),
        ({"identifier": "https://[::1/"}, "identifier", "absolute URI"),
        ({"identifier": "management"}, "identifier", "built-in"),
        ({"identifier": "http://testserver/api/v1/"}, "identifier", "built-in"),
        ({"name": ""}, "name", "1-100"),
        ({"client": "nobody"}, "client", "unknown client 'nobody'"),
        ({"scopes": ["orders read"]}, "scopes", "not a scope name"),
        ({"scopes": ['say"hi']}, "scopes", "not a scope name"),
        ({"scopes": "orders:read"}, "scopes", "list"),
        ({"access_token_lifetime": 0}, "access_token_lifetime", "1 to 86400"),
        ({"access_token_lifetime": 86401}, "access_token_lifetime", "1 to 86400"),
        ({"access_token_lifetime": True}, "access_token_lifetime", "whole number"),
        ({"audience": "x"}, "audience", "not a field"),
    ],
)
def test_invalid_specs_are_refused_naming_the_field(settings, spec, field, message):
    settings.ISSUER_URL = "http://testserver"
    errors = errors_of(register_api, **spec)
    assert message in " ".join(errors[field])
    assert not Api.objects.exclude(builtin=True).exists()
    assert not AuditEvent.objects.filter(event="api.created").exists()


def test_identifiers_are_unique():
    register_api()
    errors = errors_of(register_api, name="Again")
    assert errors["identifier"] == ["an API with this identifier already exists"]


def test_an_update_changes_what_it_names_and_says_whether_anything_did(make_client):
    make_client(client_id="orders-rs")
    api = register_api(scopes=["orders:read"])
    changed = api_services.api_update(
        actor=SystemActor("test"),
        api=api,
        spec={"client": "orders-rs", "access_token_lifetime": 120},
    )
    assert changed is True
    api.refresh_from_db()
    assert (api.client.client_id, api.access_token_lifetime, api.scopes) == (
        "orders-rs",
        120,
        ["orders:read"],
    )
    [event] = AuditEvent.objects.filter(event="api.updated")
    assert event.data["fields"] == ["access_token_lifetime", "client"]
    same = {"client": "orders-rs", "name": "Orders API", "identifier": ORDERS}
    assert api_services.api_update(actor=SystemActor("test"), api=api, spec=same) is False
    assert AuditEvent.objects.filter(event="api.updated").count() == 1
    api_services.api_update(actor=SystemActor("test"), api=api, spec={"client": None})
    assert apis.api_for_audience(ORDERS).client_id is None


def test_the_builtin_management_api_can_be_renamed_but_not_moved_nor_deleted(make_client):
    make_client(client_id="intruder")
    api = management()
    assert (
        api_services.api_update(actor=SystemActor("test"), api=api, spec={"name": "Admin API"})
        is True
    )
    assert management().name == "Admin API"
    for spec in (
        {"identifier": "https://elsewhere.example/"},
        {"client": "intruder"},
        {"scopes": ["anything"]},
    ):
        errors = errors_of(api_services.api_update, actor=SystemActor("test"), api=api, spec=spec)
        assert errors == {next(iter(spec)): ["the built-in management API keeps it"]}
    with pytest.raises(ValidationError, match="cannot be deleted"):
        api_services.api_delete(actor=SystemActor("test"), api=api)
    fresh = management()
    assert (fresh.identifier, fresh.client, fresh.scopes) == ("management", None, ["management"])


def test_an_unused_api_is_deleted_and_stops_being_an_audience():
    api = register_api()
    api_services.api_delete(actor=SystemActor("test"), api=api)
    assert not Api.objects.filter(identifier=ORDERS).exists()
    assert apis.api_for_audience(ORDERS) is None
    [event] = AuditEvent.objects.filter(event="api.deleted")
    assert (event.actor, event.target) == ("test", f"api:{ORDERS}")


def test_an_api_a_client_lists_is_neither_deleted_nor_renamed(make_client):
    api = register_api()
    client, _ = make_client(client_id="billing")
    allow(client, ORDERS)
    with pytest.raises(ValidationError, match="billing list it in their resources"):
        api_services.api_delete(actor=SystemActor("test"), api=api)
    errors = errors_of(
        api_services.api_update,
        actor=SystemActor("test"),
        api=api,
        spec={"identifier": "https://o.test/"},
    )
    assert "billing" in errors["identifier"][0]
    assert Api.objects.filter(identifier=ORDERS).exists()
    client_services.client_update(actor=APPLY, client=client, spec={"resources": []})
    api_services.api_update(
        actor=SystemActor("test"), api=api, spec={"identifier": "https://o.test/"}
    )
    api_services.api_delete(actor=SystemActor("test"), api=api)
    assert not Api.objects.exclude(builtin=True).exists()


def test_an_api_live_tokens_carry_is_not_deleted_until_they_are_gone(code_flow):
    api = register_api()
    tokens = tokens_for(code_flow)
    client = Client.objects.get(client_id="webapp")
    client_services.client_update(
        actor=APPLY, client=client, spec={"resources": []}
    )  # no client lists it
    usage = api_usage_of(api)
    assert (usage.clients, usage.access_tokens, usage.refresh_tokens) == ((), 1, 1)
    with pytest.raises(ValidationError, match="1 live access token"):
        api_services.api_delete(actor=SystemActor("test"), api=api)

    past = timezone.now() - timedelta(seconds=1)
    get_access_token_model().objects.update(expires=past)
    with pytest.raises(ValidationError, match="0 live access token.* and 1 refresh"):
        api_services.api_delete(actor=SystemActor("test"), api=api)
    revoked = code_flow.browser.post(
        "/o/revoke_token/",
        {"token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth("webapp", code_flow.secret),
    )
    assert revoked.status_code == 200
    assert get_refresh_token_model().objects.get().revoked is not None
    assert not api_usage_of(api).in_use
    api_services.api_delete(actor=SystemActor("test"), api=api)


def test_tokens_for_another_api_do_not_count(code_flow):
    orders, billing = register_api(), register_api("https://billing.example.test/", name="B")
    tokens_for(code_flow, ORDERS)
    assert api_usage_of(orders).access_tokens == 1
    assert api_usage_of(billing).access_tokens == 0
    assert api_usage_of(management()).tokens == 0


def test_a_client_lists_only_registered_apis(make_client):
    register_api()
    client, _ = make_client(client_id="billing", resources=[ORDERS, "management", ORDERS])
    assert client.resources == [ORDERS, "management"]
    errors = errors_of(
        client_services.client_update,
        actor=APPLY,
        client=Client.objects.get(pk=client.pk),
        spec={"resources": [ORDERS, "https://unknown.example/"]},
    )
    assert errors == {"resources": ["not a registered API: https://unknown.example/"]}
    assert errors_of(make_client, client_id="x", resources="management") == {
        "resources": ["must be a list of API identifiers"]
    }
    assert Client.objects.get(pk=client.pk).resources == [ORDERS, "management"]
