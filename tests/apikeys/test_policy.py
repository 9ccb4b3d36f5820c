"""One API-key policy at every door: the management API, the gateway, AuthZEN, introspection and
token exchange refuse the same keys, and a key has one rate budget across all of them.

Each door is spoken to over HTTP as its real caller would: the key's holder (management API,
gateway, token exchange) from its own address, or a resource server on the holder's behalf
(introspection's ``ip_address``, AuthZEN's ``subject.properties.ip_address``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from core.actors import APPLY
from oauth import services as client_services
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.api.conftest import assert_problem
from tests.apikeys.conftest import exchange_request
from tests.conftest import RS1_API, basic_auth

ALLOWED = "192.0.2.7"
ELSEWHERE = "198.51.100.7"
OK, REFUSED, LIMITED = "ok", "refused", "limited"
Door = Callable[[str, str | None], str]


@pytest.fixture
def owner(make_client, db):
    """A client ``svc`` that may read users (management API) and GET /api/orders/** (gateway)."""
    role_services.role_create(
        actor=APPLY, name="svc-role", permissions=["users:read", "GET /api/orders/**"]
    )
    svc, _secret = make_client(client_id="svc", name="Service")
    role_services.client_roles_set(client=svc, assignments=[AssignmentSpec("svc-role")])
    return svc


@pytest.fixture
def key(owner, make_key):
    """Factory: a key of ``svc`` carrying its role -> the full key."""

    def make(**fields) -> str:
        return make_key(client=owner, roles=["svc-role"], **fields)[1]

    return make


def management(http) -> Door:
    def call(key: str, ip: str | None) -> str:
        response = http.get(
            "/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=ip or "127.0.0.1"
        )
        if response.status_code == 401:
            assert_problem(response, 401, "not-authenticated")
            assert response["WWW-Authenticate"].startswith("Bearer")
            return REFUSED
        if response.status_code == 429:
            assert_problem(response, 429, "throttled")
            assert 1 <= int(response["Retry-After"]) <= 60
            return LIMITED
        assert response.status_code == 200, response.content
        return OK

    return call


def gateway(http) -> Door:
    def call(key: str, ip: str | None) -> str:
        response = http.get(
            "/gateway/envoy/api/orders/1",
            HTTP_X_API_KEY=key,
            HTTP_X_AUTH_AUDIENCE=RS1_API,  # the gateway fronts the resource server's API
            REMOTE_ADDR=ip or "127.0.0.1",
        )
        if response.status_code == 429:
            assert 1 <= int(response["Retry-After"]) <= 60
        assert response.status_code in (200, 401, 429), response.content
        return {200: OK, 401: REFUSED, 429: LIMITED}[response.status_code]

    return call


def token_exchange(http) -> Door:
    def call(key: str, ip: str | None) -> str:
        response = exchange_request(http, key, remote_addr=ip or "127.0.0.1")
        assert response.status_code in (200, 401, 429), response.content
        return {200: OK, 401: REFUSED, 429: LIMITED}[response.status_code]

    return call


def introspection(http, resource_server) -> Door:
    rs, secret = resource_server

    def call(key: str, ip: str | None) -> str:
        data = {"token": key, **({"ip_address": ip} if ip else {})}
        response = http.post(
            "/o/introspect/", data, HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret)
        )
        assert response.status_code == 200, response.content
        body = response.json()
        if not body["active"]:
            assert body == {"active": False}
            return REFUSED
        return OK

    return call


def authzen(ask) -> Door:
    def call(key: str, ip: str | None) -> str:
        return OK if ask(key, "GET", "/api/orders/1", ip) else REFUSED

    return call


DOORS = ("management", "gateway", "token_exchange", "introspection", "authzen")
# What a resource server asking on the holder's behalf learns of a key over its budget: that it
# is not usable (its answer format has no "try later").
LIMITED_AT = {"introspection": REFUSED, "authzen": REFUSED}


@pytest.fixture
def doors(client, resource_server, ask) -> dict[str, Door]:
    return {
        "management": management(client),
        "gateway": gateway(client),
        "token_exchange": token_exchange(client),
        "introspection": introspection(client, resource_server),
        "authzen": authzen(ask),
    }


@pytest.mark.parametrize("door", DOORS)
def test_an_ip_bound_key_only_from_its_networks(doors, key, door) -> None:
    full = key(allowed_ips=["192.0.2.0/24"])
    assert doors[door](full, ELSEWHERE) == REFUSED
    assert doors[door](full, None) == REFUSED  # holder's address unknown (or not ours)
    assert doors[door](full, ALLOWED) == OK


def test_the_management_api_refuses_a_key_from_the_wrong_address(client, key) -> None:
    full = key(allowed_ips=["192.0.2.0/24"])
    response = client.get(
        "/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {full}", REMOTE_ADDR=ELSEWHERE
    )
    assert_problem(response, 401, "not-authenticated")
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="authserver", error="invalid_token"')


@override_settings(API_KEY_RATE_LIMIT=2)
def test_the_management_api_applies_the_keys_rate_limit(client, key, rate_limit_clock) -> None:
    full, other = key(), key(name="other")
    statuses = [
        client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {full}").status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    limited = client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {full}")
    assert_problem(limited, 429, "throttled")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200


@override_settings(API_KEY_RATE_LIMIT=len(DOORS))
def test_one_budget_per_key_across_every_door(doors, key, rate_limit_clock) -> None:
    full, other = key(), key(name="other")
    assert [doors[door](full, ALLOWED) for door in DOORS] == [OK] * len(DOORS)
    spent = [doors[door](full, ALLOWED) for door in DOORS]
    assert spent == [LIMITED_AT.get(door, LIMITED) for door in DOORS]
    assert doors["management"](other, ALLOWED) == OK  # per key


@override_settings(API_KEY_RATE_LIMIT=1)
def test_refused_presentations_spend_no_budget(doors, key, rate_limit_clock) -> None:
    """A stolen key tried from the wrong address cannot use up its holder's budget."""
    full = key(allowed_ips=["192.0.2.0/24"])
    for door in DOORS:
        assert doors[door](full, ELSEWHERE) == REFUSED
    assert doors["management"](full, ALLOWED) == OK


@pytest.mark.parametrize("door", DOORS)
def test_an_expired_key_is_refused_at_every_door(doors, key, door, clock) -> None:
    full = key(expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert doors[door](full, ALLOWED) == OK
    later = (datetime.now(UTC) + timedelta(minutes=6)).timestamp()
    clock.set(later)
    assert doors[door](full, ALLOWED) == REFUSED


@pytest.mark.parametrize("door", DOORS)
def test_a_disabled_owner_disables_its_key_at_every_door(doors, key, owner, door) -> None:
    full = key()
    assert doors[door](full, ALLOWED) == OK
    client_services.client_update(actor=APPLY, client=owner, spec={"is_active": False})
    assert doors[door](full, ALLOWED) == REFUSED


@pytest.mark.parametrize("door", DOORS)
def test_a_users_key_follows_the_user_at_every_door(doors, make_user, make_key, door) -> None:
    role_services.role_create(
        actor=APPLY, name="reader", permissions=["users:read", "GET /api/orders/**"]
    )
    alice = make_user("alice")
    role_services.user_roles_set(user=alice, assignments=[AssignmentSpec("reader")])
    _key, full = make_key(user=alice, roles=["reader"])
    assert doors[door](full, ALLOWED) == OK
    alice.is_active = False
    alice.save()
    assert doors[door](full, ALLOWED) == REFUSED
