"""RFC 7662 introspection of API keys, as a resource server sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apikeys import credentials, services
from apikeys.models import ApiKeyRole
from core import generations
from core.actors import APPLY
from oauth import services as client_services
from roles import services as role_services
from roles.services import AssignmentSpec

INACTIVE = {"active": False}


def test_user_key(alice, make_key, introspect) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)
    _key, full = make_key(user=alice, roles=["reader"], expires_at=expires)
    body = introspect(full)
    assert body == {
        "active": True,
        "token_type": "api_key",
        "sub": str(alice.pk),
        "username": "alice",
        "iat": body["iat"],
        "exp": int(expires.timestamp()),
        "roles": ["reader"],
        "permissions": ["GET /api/orders/**", "orders:read"],
    }


def test_client_key(service, make_key, introspect) -> None:
    _key, full = make_key(client=service[0], roles=["editor"])
    body = introspect(full)
    assert body["active"] is True and body["token_type"] == "api_key"
    assert body["sub"] == "svc" and body["client_id"] == "svc" and "username" not in body
    assert body["roles"] == ["editor", "reader"]
    assert "exp" not in body  # a key without expiry


def test_key_never_exceeds_its_owner(alice, make_key, introspect) -> None:
    _key, full = make_key(user=alice, roles=["admin"])  # alice holds editor only
    body = introspect(full)
    assert body["roles"] == ["editor", "reader"]
    assert "* /api/admin/**" not in body["permissions"]


def test_owner_losing_a_role_is_seen_by_the_next_request(alice, make_key, introspect) -> None:
    _key, full = make_key(user=alice, roles=["editor"])
    assert introspect(full)["roles"] == ["editor", "reader"]
    role_services.user_roles_set(user=alice, assignments=[AssignmentSpec("reader")])
    assert introspect(full)["roles"] == ["reader"]
    role_services.user_roles_set(user=alice, assignments=[])
    body = introspect(full)
    assert body["active"] is True and body["roles"] == [] and body["permissions"] == []


def test_key_losing_a_role_is_seen_by_the_next_request(alice, make_key, introspect) -> None:
    key, full = make_key(user=alice, roles=["editor"])
    assert introspect(full)["roles"] == ["editor", "reader"]
    services.api_key_update(actor=APPLY, key=key, roles=["reader"])
    assert introspect(full)["roles"] == ["reader"]


def test_a_keys_expiring_role_stops_counting_at_its_expiry(
    alice, make_key, introspect, monkeypatch, clock
) -> None:
    """Answers are cached; an expiry of one of the key's own roles makes them stale."""
    key, full = make_key(user=alice, roles=["editor"])
    assert introspect(full)["roles"] == ["editor", "reader"]
    expires = datetime.now(UTC) + timedelta(minutes=5)
    ApiKeyRole.objects.filter(key=key).update(expires_at=expires)  # no service sets one yet
    generations.bump("roles")
    assert introspect(full)["roles"] == ["editor", "reader"]
    later = (expires + timedelta(seconds=1)).timestamp()
    clock.set(later)
    assert introspect(full)["roles"] == []


def test_invalid_keys_are_just_inactive(alice, make_key, introspect) -> None:
    key, full = make_key(user=alice)
    key_id, _secret = credentials.parse(full)
    assert introspect(credentials.assemble(key_id, credentials.new_secret())) == INACTIVE
    assert introspect(full[:-1]) == INACTIVE
    assert introspect(full + "A") == INACTIVE
    assert introspect("ask_" + "0" * 16 + "_" + "A" * 43) == INACTIVE
    services.api_key_revoke(actor=APPLY, key=key)
    assert introspect(full) == INACTIVE


def test_expired_key_is_inactive(alice, make_key, introspect, clock) -> None:
    _key, full = make_key(user=alice, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    later = (datetime.now(UTC) + timedelta(minutes=6)).timestamp()
    clock.set(later)
    assert introspect(full) == INACTIVE


def test_an_answer_given_before_still_ends_with_the_key(alice, make_key, introspect, clock) -> None:
    """The key's validity end (expiry, grace period) is checked on every call."""
    key, old = make_key(user=alice, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert introspect(old)["active"] is True
    new = services.api_key_rotate(actor=APPLY, key=key, grace_seconds=60)
    assert introspect(old)["active"] is True  # within the grace period
    grace_over = (datetime.now(UTC) + timedelta(seconds=61)).timestamp()
    clock.set(grace_over)
    assert introspect(old) == INACTIVE
    assert introspect(new)["active"] is True
    expired = (datetime.now(UTC) + timedelta(minutes=6)).timestamp()
    clock.set(expired)
    assert introspect(new) == INACTIVE


def test_disabled_owner_is_inactive(alice, service, make_key, introspect) -> None:
    _k1, user_key = make_key(user=alice)
    _k2, client_key = make_key(client=service[0])
    alice.is_active = False
    alice.save()
    client_services.client_update(actor=APPLY, client=service[0], spec={"is_active": False})
    assert introspect(user_key) == INACTIVE
    assert introspect(client_key) == INACTIVE


def test_old_secret_during_grace_reports_the_grace_end(alice, make_key, introspect) -> None:
    key, old = make_key(user=alice)
    new = services.api_key_rotate(actor=APPLY, key=key, grace_seconds=120)
    assert "exp" not in introspect(new)
    body = introspect(old)
    assert body["active"] is True
    assert 0 < body["exp"] - datetime.now(UTC).timestamp() <= 120


def test_introspection_requires_client_authentication(client, alice, make_key) -> None:
    _key, full = make_key(user=alice)
    response = client.post("/o/introspect/", {"token": full})
    assert response.status_code == 401


def test_a_users_key_never_carries_a_role_that_requires_mfa(
    make_user, make_key, introspect
) -> None:
    role_services.role_create(actor=APPLY, name="base", permissions=["GET /api/**"])
    role_services.role_create(
        actor=APPLY, name="root", parents=["base"], permissions=["* /api/**"], require_mfa=True
    )
    role_services.role_create(actor=APPLY, name="ops", parents=["root"], permissions=["ops:run"])
    bob = make_user("bob")
    role_services.user_roles_set(user=bob, assignments=[AssignmentSpec("ops")])
    _key, full = make_key(user=bob, roles=["ops"])
    body = introspect(full)
    assert body["roles"] == ["base"]  # ops inherits root (MFA): both dropped
    assert body["permissions"] == ["GET /api/**"]


def test_a_key_holds_a_role_its_owner_has_through_a_group(alice, make_key, introspect) -> None:
    from roles import group_services

    _key, full = make_key(user=alice, roles=["admin"])  # alice holds editor directly
    assert "admin" not in introspect(full)["roles"]
    admins = group_services.group_create(actor=APPLY, name="admins", roles=["admin"])
    group_services.group_member_add(actor=APPLY, group=admins, user=alice)
    assert introspect(full)["roles"] == ["admin", "editor", "reader"]
    group_services.group_roles_set(actor=APPLY, group=admins, roles=[])
    assert introspect(full)["roles"] == ["editor", "reader"]
