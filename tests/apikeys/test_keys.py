"""Keys as data: the format, what is stored, lookup, expiry, rotation, revocation, last use."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from apikeys import authentication, credentials, policy, selectors, services
from apikeys.models import ApiKey
from core.actors import APPLY, SystemActor
from core.crypto import keyed_hash

KEY_RE = re.compile(r"ask_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def audit_events(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "authserver.audit"]


def test_created_key_is_shown_once_and_only_its_keyed_hash_is_stored(alice, make_key) -> None:
    key, full = make_key(user=alice, roles=["reader"])
    assert KEY_RE.fullmatch(full)
    key_id, secret = credentials.parse(full)
    assert key_id == key.key_id
    row = ApiKey.objects.values().get(pk=key.pk)
    assert row["secret_hash"] == keyed_hash(secret, "api-key")
    assert not any(secret in str(value) for value in row.values())
    assert full not in str(key) and secret not in repr(key.__dict__.get("secret_hash"))
    # Nothing returns the key again.
    assert str(key) == f"ci (ask_{key.key_id}_…)"


def test_keys_are_distinct_and_random(alice, make_key) -> None:
    secrets = {credentials.parse(make_key(name=f"k{i}", user=alice)[1]).secret for i in range(50)}
    assert len(secrets) == 50
    assert all(len(s) == 43 for s in secrets)  # 256 bits, base64url


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ask_",
        "ask_0123456789abcdef",
        "ask_0123456789ABCDEF_" + "a" * 43,
        "ask_0123456789abcdef_" + "a" * 42,
        "ask_0123456789abcdef_" + "a" * 43 + "x",
        "ask_0123456789abcdef_" + "a" * 42 + "!",
        "xsk_0123456789abcdef_" + "a" * 43,
        None,
        42,
    ],
)
def test_malformed_keys_are_refused_before_any_lookup(value, db) -> None:
    with mock.patch.object(selectors, "key_record") as lookup:
        assert authentication.authenticate(value) is None
    lookup.assert_not_called()


def test_lookup_by_key_id_and_constant_time_comparison(alice, make_key) -> None:
    key, full = make_key(user=alice)
    key_id, secret = credentials.parse(full)
    wrong = credentials.assemble(key_id, credentials.new_secret())
    with mock.patch(
        "apikeys.authentication.hmac.compare_digest", wraps=__import__("hmac").compare_digest
    ) as compare:
        assert authentication.authenticate(full) is not None
        assert authentication.authenticate(wrong) is None
    assert compare.call_count >= 2
    # Another key's id with this secret is not this key.
    other, _ = make_key(name="other", user=alice)
    assert authentication.authenticate(credentials.assemble(other.key_id, secret)) is None


def test_warm_cache_needs_no_key_query(alice, make_key, django_assert_max_num_queries) -> None:
    _key, full = make_key(user=alice, roles=["reader"])
    assert policy.check(full, client_ip=None, surface="test").auth is not None
    # Generation counters (once per request) at most: nothing about the key or its owner.
    with django_assert_max_num_queries(1):
        assert policy.check(full, client_ip=None, surface="test").auth is not None


def test_expired_key_is_refused(alice, make_key, clock) -> None:
    _key, full = make_key(user=alice, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert authentication.authenticate(full) is not None
    later = datetime.now(UTC) + timedelta(hours=1, seconds=1)
    clock.set(later.timestamp())
    assert authentication.authenticate(full) is None


def test_expiry_in_the_past_is_refused_at_creation(alice, make_key) -> None:
    with pytest.raises(ValidationError):
        make_key(user=alice, expires_at=datetime.now(UTC) - timedelta(seconds=1))


def test_exactly_one_owner(alice, service, make_key) -> None:
    with pytest.raises(ValidationError):
        make_key(user=alice, client=service[0])
    with pytest.raises(ValidationError):
        make_key()


def test_rotation_keeps_the_old_secret_for_the_grace_period_only(
    alice, make_key, caplog, clock
) -> None:
    key, old = make_key(user=alice)
    new = services.api_key_rotate(key=key, grace_seconds=300, actor=SystemActor("alice"))
    assert new != old and credentials.parse(new).key_id == key.key_id
    assert authentication.authenticate(new) is not None
    during = authentication.authenticate(old)
    assert during is not None and during.valid_until is not None
    after = datetime.now(UTC) + timedelta(seconds=301)
    clock.set(after.timestamp())
    assert authentication.authenticate(old) is None
    assert authentication.authenticate(new) is not None
    newest = services.api_key_rotate(
        key=key, actor=SystemActor("alice")
    )  # no grace: the old one dies now
    assert authentication.authenticate(new) is None
    assert authentication.authenticate(newest) is not None
    assert [e["audit"] for e in audit_events(caplog)].count("api_key.rotated") == 2


def test_revoked_key_is_refused_and_its_use_audited_once_a_minute(alice, make_key, caplog) -> None:
    key, full = make_key(user=alice)
    assert services.api_key_revoke(key=key, actor=SystemActor("alice")) is True
    assert services.api_key_revoke(key=key, actor=SystemActor("alice")) is False
    for _ in range(3):
        assert authentication.authenticate(full) is None
    events = [e["audit"] for e in audit_events(caplog)]
    assert events.count("api_key.revoked") == 1
    assert events.count("api_key.used_after_revoke") == 1
    with pytest.raises(ValidationError):
        services.api_key_rotate(actor=APPLY, key=key)


def test_revoke_command(alice, make_key, capsys) -> None:
    key, full = make_key(user=alice)
    call_command("revoke_api_key", key.key_id)
    assert "revoked" in capsys.readouterr().out
    assert authentication.authenticate(full) is None
    call_command("revoke_api_key", f"ask_{key.key_id}")
    assert "already revoked" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("revoke_api_key", "0" * 16)
    with pytest.raises(CommandError):
        call_command("revoke_api_key", "not-a-key-id")


def test_disabled_owner_disables_keys(alice, service, make_key) -> None:
    _k1, user_key = make_key(user=alice)
    _k2, client_key = make_key(client=service[0])
    alice.is_active = False
    alice.save()
    assert authentication.authenticate(user_key) is None
    from oauth import services as client_services

    client_services.client_update(actor=APPLY, client=service[0], spec={"is_active": False})
    assert authentication.authenticate(client_key) is None


def test_allow_list_applies_to_the_holders_address(alice, make_key) -> None:
    _key, full = make_key(user=alice, allowed_ips=["203.0.113.0/24", "2001:db8::/32"])

    def admitted(ip: str | None) -> bool:
        return policy.check(full, client_ip=ip, surface="test").auth is not None

    assert admitted("203.0.113.7")
    assert admitted("::ffff:203.0.113.7")
    assert admitted("2001:db8::1")
    assert not admitted("198.51.100.1")
    assert not admitted("garbage")
    # Where the holder is is unknown (a resource server asking without saying): refused.
    assert not admitted(None)
    # The key itself is fine: it is the address that is refused.
    assert authentication.authenticate(full) is not None


@pytest.mark.parametrize("networks", [["10.0.0.1/8"], ["example.com"], ["10.0.0.0/33"]])
def test_bad_allow_list_is_refused(alice, make_key, networks) -> None:
    with pytest.raises(ValidationError):
        make_key(user=alice, allowed_ips=networks)


def test_last_used_is_written_at_most_once_a_minute(alice, make_key, clock) -> None:
    key, full = make_key(user=alice)
    start = datetime.now(UTC).timestamp()
    clock.set(start)
    policy.check(full, client_ip="192.0.2.1", surface="test")
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_ip == "192.0.2.1"
    first = key.last_used_at
    clock.set(start + 30)
    with mock.patch.object(ApiKey.objects, "filter", wraps=ApiKey.objects.filter) as writes:
        policy.check(full, client_ip="192.0.2.2", surface="test")
    assert writes.call_count == 0
    key.refresh_from_db()
    assert key.last_used_at == first and key.last_used_ip == "192.0.2.1"
    clock.set(start + 61)
    policy.check(full, client_ip="192.0.2.3", surface="test")
    key.refresh_from_db()
    assert key.last_used_at > first and key.last_used_ip == "192.0.2.3"


def test_listing_shows_the_prefix_and_never_a_hash(alice, make_key) -> None:
    key, full = make_key(user=alice, roles=["reader", "editor"], description="deploys")
    services.api_key_revoke(actor=APPLY, key=key)
    _other, other_full = make_key(user=alice)
    listed = selectors.api_key_list(user=alice)
    assert [k["key_id"] for k in listed] == [_other.key_id, key.key_id]
    first = listed[1]
    assert first["prefix"] == f"ask_{key.key_id}_" and full.startswith(first["prefix"])
    assert first["roles"] == ["editor", "reader"] and first["revoked_at"] is not None
    text = json.dumps(listed, default=str)
    for secret in (credentials.parse(full).secret, credentials.parse(other_full).secret):
        assert secret not in text
    assert key.secret_hash not in text and "hash" not in text
