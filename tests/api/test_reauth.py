"""A fresh second factor for privilege changes through the management API (SECURITY 85).

A caller acting for a person (a user's token, a user's API key) needs a token whose ``amr``
shows a second factor and whose ``auth_time`` is within ``CONSOLE_REAUTH_SECONDS``; otherwise
403 problem ``reauthentication_required`` and nothing changes. A service (a client's own token
or key) is not asked: it stays bounded by its roles and the hierarchy guard.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password

from accounts.models import User
from apikeys import services as key_services
from apikeys.models import ApiKey
from audit.models import AuditEvent
from core.actors import APPLY
from oauth.models import Client
from roles import access as role_access
from roles.models import Role, UserRole
from tests.api.conftest import Api, assert_problem
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SUPERADMIN = "superadmin"


@pytest.fixture
def roles(make_role):
    """``superadmin`` (every management permission) and ``ops``, a role without parents."""
    make_role(SUPERADMIN, permissions=role_access.MANAGEMENT_PERMISSIONS)
    return make_role("ops", permissions=["users:read"])


@pytest.fixture
def later(clock, settings):
    """Call after the sign-in: moves the project's clock past ``CONSOLE_REAUTH_SECONDS`` (the
    token itself, 600 s by default, is still valid: its expiry is Django's clock)."""
    return lambda: clock.advance(settings.CONSOLE_REAUTH_SECONDS + 1)


def add_superadmin_parent(api: Api):
    return api.patch("/api/v1/roles/ops/", {"parents": [SUPERADMIN]})


def parents_of_ops() -> list[str]:
    return list(Role.objects.get(name="ops").parents.values_list("name", flat=True))


def shop_client() -> Client:
    return Client.objects.get(client_id="shop")


def user(username: str) -> User:
    return User.objects.get(username=username)


# Privilege changes, each with a check (given the shop's secret) that it did not happen.
CHANGES = {
    "role-parent": (
        lambda api: add_superadmin_parent(api),
        lambda secret: parents_of_ops() == [],
    ),
    "role-create": (
        lambda api: api.post("/api/v1/roles/", {"name": "new-role", "parents": [SUPERADMIN]}),
        lambda secret: not Role.objects.filter(name="new-role").exists(),
    ),
    "role-delete": (
        lambda api: api.delete("/api/v1/roles/ops/"),
        lambda secret: Role.objects.filter(name="ops").exists(),
    ),
    "role-assign": (
        lambda api: api.put(f"/api/v1/users/pat/roles/{SUPERADMIN}/", {}),
        lambda secret: not UserRole.objects.filter(role__name=SUPERADMIN).exists(),
    ),
    "redirect-uris": (
        lambda api: api.patch(
            "/api/v1/clients/shop/", {"redirect_uris": ["https://evil.example/cb"]}
        ),
        lambda secret: shop_client().redirect_uris == "https://shop.example/cb",
    ),
    "secret-rotation": (
        lambda api: api.post("/api/v1/clients/shop/secret/"),
        lambda secret: check_password(secret, shop_client().client_secret),
    ),
    "password-reset": (
        lambda api: api.post("/api/v1/users/ivy/password/", {"password": "a new passphrase 42"}),
        lambda secret: user("ivy").check_password(PASSWORD),
    ),
    "api-key-create": (
        lambda api: api.post("/api/v1/users/ivy/api-keys/", {"name": "laptop"}),
        lambda secret: not ApiKey.objects.exists(),
    ),
    "re-enable": (
        lambda api: api.post("/api/v1/users/ned/enable/"),
        lambda secret: not user("ned").is_active,
    ),
    "client-skip-consent": (
        lambda api: api.patch("/api/v1/clients/shop/", {"skip_consent": True}),
        lambda secret: not shop_client().skip_authorization,
    ),
    "client-require-mfa-off": (
        lambda api: api.patch("/api/v1/clients/shop/", {"require_mfa": False}),
        lambda secret: shop_client().require_mfa,
    ),
    "client-re-enable": (
        lambda api: api.patch("/api/v1/clients/sleeper/", {"is_active": True}),
        lambda secret: not Client.objects.get(client_id="sleeper").is_active,
    ),
}


@pytest.fixture
def shop(make_client, make_user):
    """The client ``shop`` and its secret; the users ``ivy`` and ``ned`` (disabled)."""
    make_user("ivy")
    make_user("ned", is_active=False)
    _, secret = make_client(
        client_id="shop",
        name="Shop",
        grant_types=["authorization_code"],
        redirect_uris=["https://shop.example/cb"],
        require_mfa=True,
    )
    make_client(client_id="sleeper", name="Disabled service", is_active=False)
    return secret


def assert_reauthentication_required(response) -> None:
    body = assert_problem(response, 403, "reauthentication_required")
    assert "second factor" in body["detail"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_password_only_token_must_reauthenticate_and_changes_nothing(person, roles, shop, change):
    act, unchanged = CHANGES[change]
    api = person(multi_factor=False)
    assert api.get("/api/v1/roles/").status_code == 200  # reading needs no fresh factor
    assert_reauthentication_required(act(api))
    assert unchanged(shop)
    denied = AuditEvent.objects.get(event="api.denied")
    assert denied.actor == "pat" and "second factor" in denied.data["reason"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_stale_second_factor_must_reauthenticate_and_changes_nothing(
    person, roles, shop, later, change
):
    act, unchanged = CHANGES[change]
    api = person()
    later()
    assert_reauthentication_required(act(api))
    assert unchanged(shop)


@pytest.mark.parametrize("change", CHANGES)
def test_a_fresh_second_factor_makes_the_change(person, roles, shop, change):
    act, unchanged = CHANGES[change]
    response = act(person())
    assert response.status_code in (200, 201, 204), response.content
    assert not unchanged(shop)


def test_a_description_alone_needs_no_fresh_factor(person, roles):
    api = person(multi_factor=False)
    response = api.patch("/api/v1/roles/ops/", {"description": "On call"})
    assert response.status_code == 200, response.content
    assert Role.objects.get(name="ops").description == "On call"


def test_a_users_api_key_cannot_change_privileges(client, person, roles):
    person()  # pat, holding every permission the tests use
    _, key = key_services.api_key_create(
        actor=APPLY, user=user("pat"), name="laptop", roles=["person-role"]
    )
    api = Api(client, key)
    assert api.get("/api/v1/roles/").status_code == 200
    assert_reauthentication_required(add_superadmin_parent(api))
    assert parents_of_ops() == []


def test_a_service_token_is_not_asked_and_stays_within_its_roles(caller, roles):
    service = caller(*role_access.MANAGEMENT_PERMISSIONS, name="deployer")
    assert add_superadmin_parent(service).status_code == 200
    assert parents_of_ops() == [SUPERADMIN]
    weaker = caller(role_access.ROLES_WRITE, role_access.ROLES_READ, name="weaker")
    refused = weaker.patch("/api/v1/roles/ops/", {"parents": []})
    assert_problem(refused, 403, "privilege-escalation")  # the hierarchy guard still holds


def test_a_services_api_key_is_not_asked(client, admin, roles):
    owner = Client.objects.get(client_id="admin")
    _, key = key_services.api_key_create(actor=APPLY, client=owner, name="ci", roles=["admin-role"])
    assert add_superadmin_parent(Api(client, key)).status_code == 200
    assert parents_of_ops() == [SUPERADMIN]
