"""RFC 8693 token exchange of an API key at /o/token/, as a key holder sees it."""

from __future__ import annotations

import jwt
import pytest
from django.test import override_settings

from apikeys import credentials, exchange, services
from core.actors import APPLY
from oauth import tokens
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.apikeys.conftest import exchange_request
from tests.conftest import basic_auth


def assert_oauth_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"


def test_user_key_exchanged_for_a_short_lived_jwt(client, alice, make_key, introspect) -> None:
    key, full = make_key(user=alice, roles=["reader"])
    response = exchange_request(client, full)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 600
    claims = tokens.verify(body["access_token"], typ="at+jwt")
    assert claims["sub"] == str(alice.pk) and claims["roles"] == ["reader"]
    assert claims["api_key"] == key.key_id and claims["scope"] == ""
    assert "refresh_token" not in body
    seen = introspect(body["access_token"])
    assert seen["active"] is True and seen["username"] == "alice"
    assert seen["roles"] == ["reader"]  # the key's grant, not alice's (editor)
    assert full not in response.content.decode()


def test_client_key_exchange_and_its_token_follows_the_key(
    client, service, make_key, introspect
) -> None:
    key, full = make_key(client=service[0], roles=["admin"])
    token = exchange_request(client, full).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "svc" and claims["client_id"] == "svc"
    assert claims["roles"] == ["editor", "reader"]  # never more than the client holds
    role_services.client_roles_set(client=service[0], assignments=[AssignmentSpec("reader")])
    assert introspect(token)["roles"] == ["reader"]


def test_token_expiry_is_capped_by_the_key(client, alice, make_key) -> None:
    from datetime import UTC, datetime, timedelta

    _key, full = make_key(user=alice, expires_at=datetime.now(UTC) + timedelta(seconds=90))
    assert exchange_request(client, full).json()["expires_in"] <= 90


def test_revoking_the_key_revokes_exchanged_tokens(client, alice, make_key, introspect) -> None:
    key, full = make_key(user=alice, roles=["reader"])
    token = exchange_request(client, full).json()["access_token"]
    services.api_key_revoke(actor=APPLY, key=key)
    assert introspect(token) == {"active": False}
    assert_oauth_error(exchange_request(client, full), 401, "invalid_client")


def test_disabled_owner_kills_exchanged_tokens(client, alice, make_key, introspect) -> None:
    _key, full = make_key(user=alice)
    token = exchange_request(client, full).json()["access_token"]
    alice.is_active = False
    alice.save()
    assert introspect(token) == {"active": False}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
        lambda k: "ask_" + "f" * 16 + k[20:],
        lambda k: "not a key",
    ],
)
def test_bad_key_is_invalid_client(client, alice, make_key, mangle) -> None:
    _key, full = make_key(user=alice)
    assert_oauth_error(exchange_request(client, mangle(full)), 401, "invalid_client")


def test_wrong_subject_token_type(client, alice, make_key) -> None:
    _key, full = make_key(user=alice)
    response = exchange_request(
        client, full, subject_token_type="urn:ietf:params:oauth:token-type:access_token"
    )
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "params",
    [
        {"subject_token": ""},
        {"actor_token": "x", "actor_token_type": exchange.API_KEY_TOKEN_TYPE},
        {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        {"client_secret": "x"},
    ],
)
def test_malformed_requests_are_invalid_request(client, alice, make_key, params) -> None:
    _key, full = make_key(user=alice)
    assert_oauth_error(exchange_request(client, full, **params), 400, "invalid_request")


def test_other_client_credentials_are_refused(client, alice, service, make_key) -> None:
    _key, full = make_key(user=alice)
    svc, secret = service
    response = client.post(
        "/o/token/",
        {
            "grant_type": exchange.GRANT_TYPE,
            "subject_token": full,
            "subject_token_type": exchange.API_KEY_TOKEN_TYPE,
        },
        HTTP_AUTHORIZATION=basic_auth(svc.client_id, secret),
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_ip_allow_list(client, alice, make_key) -> None:
    _key, full = make_key(user=alice, allowed_ips=["192.0.2.0/24"])
    assert exchange_request(client, full, remote_addr="192.0.2.10").status_code == 200
    assert_oauth_error(
        exchange_request(client, full, remote_addr="198.51.100.1"), 401, "invalid_client"
    )


@override_settings(API_KEY_RATE_LIMIT=3)
def test_rate_limit(client, alice, make_key, rate_limit_clock) -> None:
    _key, full = make_key(user=alice)
    _other, other_full = make_key(name="other", user=alice)
    for _ in range(3):
        assert exchange_request(client, full).status_code == 200
    response = exchange_request(client, full)
    assert_oauth_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert exchange_request(client, other_full).status_code == 200  # per key


@override_settings(API_KEY_RATE_LIMIT=1)
def test_bad_secrets_do_not_use_up_the_budget(client, alice, make_key) -> None:
    key, full = make_key(user=alice)
    wrong = credentials.assemble(key.key_id, credentials.new_secret())
    for _ in range(3):
        assert exchange_request(client, wrong).status_code == 401
    assert exchange_request(client, full).status_code == 200


def test_listed_in_discovery(client) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        assert exchange.GRANT_TYPE in client.get(path).json()["grant_types_supported"]


def test_rfc7009_revocation_by_the_owning_client(client, service, make_client, make_key) -> None:
    svc, secret = service
    _key, full = make_key(client=svc)
    other, other_secret = make_client(client_id="other")
    response = client.post(
        "/o/revoke_token/", {"token": full}, HTTP_AUTHORIZATION=basic_auth("other", other_secret)
    )
    assert response.status_code == 200
    assert exchange_request(client, full).status_code == 200  # another client cannot revoke it
    response = client.post(
        "/o/revoke_token/", {"token": full}, HTTP_AUTHORIZATION=basic_auth("svc", secret)
    )
    assert response.status_code == 200
    assert_oauth_error(exchange_request(client, full), 401, "invalid_client")


def test_rfc7009_revocation_of_an_exchanged_token(client, service, make_key, introspect) -> None:
    svc, secret = service
    _key, full = make_key(client=svc)
    token = exchange_request(client, full).json()["access_token"]
    response = client.post(
        "/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic_auth("svc", secret)
    )
    assert response.status_code == 200
    assert introspect(token) == {"active": False}
    assert introspect(full)["active"] is True  # the key itself lives on


def test_no_token_is_minted_for_a_key_revoked_during_the_exchange(alice, make_key) -> None:
    from apikeys import authentication

    key, full = make_key(user=alice)
    auth = authentication.authenticate(full)
    services.api_key_revoke(actor=APPLY, key=key)  # after the check, before the token is stored
    assert services.api_key_token_issue(auth=auth, client=None, lifetime=600) is None


ORDERS = "https://orders.example.test/"
BILLING = "https://billing.example.test/"


@pytest.fixture
def apis(make_client, make_api, service):
    """The Orders and Billing APIs with their clients; ``svc`` may obtain tokens for Orders."""
    clients = {}
    for identifier, client_id in ((ORDERS, "orders-rs"), (BILLING, "billing-rs")):
        clients[identifier] = make_client(client_id=client_id)
        make_api(identifier, client=clients[identifier][0], name=client_id)
    service[0].resources = [ORDERS]
    service[0].save()
    return clients


def test_a_key_exchanged_for_a_listed_api_is_meant_for_it_only(
    client, service, make_key, apis
) -> None:
    """End to end: the token carries the API as ``aud``; that API's client introspects it as
    active, another API's client as inactive, and a gateway fronting that other API refuses it."""
    _key, full = make_key(client=service[0], roles=["reader"])
    response = exchange_request(client, full, resource=ORDERS)
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert tokens.verify(token, typ="at+jwt", audience=ORDERS)["aud"] == [ORDERS]

    def introspected_by(identifier):
        rs, secret = apis[identifier]
        auth = basic_auth(rs.client_id, secret)
        return client.post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=auth).json()

    assert introspected_by(ORDERS)["active"] is True and introspected_by(ORDERS)["aud"] == [ORDERS]
    assert introspected_by(BILLING) == {"active": False}
    at_billing = client.get(
        "/gateway/envoy/api/orders/1",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_AUTH_AUDIENCE=BILLING,
    )
    assert at_billing.status_code == 401
    at_orders = client.get(
        "/gateway/envoy/api/orders/1",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_AUTH_AUDIENCE=ORDERS,
    )
    assert at_orders.status_code == 200
    by_audience = exchange_request(client, full, audience=ORDERS).json()["access_token"]
    assert tokens.verify(by_audience, typ="at+jwt", audience=ORDERS)["aud"] == [ORDERS]


@pytest.mark.parametrize(
    "target",
    [
        {"resource": BILLING},  # registered, not in svc's resources
        {"resource": "https://unregistered.example.test/"},
        {"audience": "management"},  # not in svc's resources either
    ],
)
def test_a_key_exchanged_for_an_api_its_client_does_not_list_is_invalid_target(
    client, service, make_key, apis, target
) -> None:
    _key, full = make_key(client=service[0], roles=["reader"])
    assert_oauth_error(exchange_request(client, full, **target), 400, "invalid_target")


def test_a_users_key_obtains_no_audience(client, alice, make_key, apis) -> None:
    """A user's key has no client, so no ``resources``: only audience-less tokens."""
    _key, full = make_key(user=alice, roles=["reader"])
    assert_oauth_error(exchange_request(client, full, resource=ORDERS), 400, "invalid_target")
    assert exchange_request(client, full).status_code == 200
