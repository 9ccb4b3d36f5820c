"""``manage.py apply`` with ``api_keys``: created once, shown once, checked before writing."""

from __future__ import annotations

import functools
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apikeys import policy
from apikeys.models import ApiKey
from core.declarative import ConfigError, apply_file
from tests.configfiles import write_config

CONFIG = """
roles:
  - name: reader
    permissions: ["GET /api/orders/**"]
  - name: editor
    parents: [reader]
    permissions: ["POST /api/orders"]
users:
  - username: alice
    password: "correct horse battery staple"
    roles: [editor]
clients:
  - client_id: svc
    name: Service
    type: confidential
    grant_types: [client_credentials]
    roles: [reader]
api_keys:
  - name: alice-ci
    user: alice
    description: CI pipeline
    roles: [reader]
    expires_in: 86400
  - name: svc-sync
    client: svc
    roles: [reader]
    allowed_ips: [192.0.2.0/24, "2001:db8::/32"]
"""


@pytest.fixture
def write(tmp_path):
    return functools.partial(write_config, tmp_path)


def apply_json(path) -> dict:
    out = StringIO()
    call_command("apply", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_keys_are_created_once_and_shown_once(db, write, introspect) -> None:
    path = write(CONFIG)
    first = apply_json(path)
    keys = first["api_keys"]
    assert set(keys) == {"alice-ci", "svc-sync"}
    alice_key = keys["alice-ci"]["key"]
    body = introspect(alice_key)
    assert body["active"] is True and body["username"] == "alice" and body["roles"] == ["reader"]
    assert "exp" in body
    svc = policy.check(keys["svc-sync"]["key"], client_ip="192.0.2.9", surface="test").auth
    assert svc is not None and svc.owner.client_id == "svc"
    # Idempotent: nothing new is minted, and the key is not shown again.
    again = apply_json(path)
    assert "api_keys" not in again
    assert ApiKey.objects.count() == 2
    assert introspect(alice_key)["active"] is True


def test_reapplying_updates_roles_and_networks(db, write, introspect) -> None:
    key = apply_json(write(CONFIG))["api_keys"]["svc-sync"]["key"]
    result = apply_file(
        write(CONFIG.replace("allowed_ips: [192.0.2.0/24", "allowed_ips: [198.51.100.0/24"))
    )
    assert "updated API key svc-sync" in result.changes
    assert policy.check(key, client_ip="192.0.2.9", surface="test").auth is None
    assert policy.check(key, client_ip="198.51.100.9", surface="test").auth is not None


def test_a_revoked_key_is_replaced_on_the_next_apply(db, write) -> None:
    path = write(CONFIG)
    apply_json(path)
    call_command("revoke_api_key", ApiKey.objects.get(name="alice-ci").key_id, stdout=StringIO())
    assert set(apply_json(path)["api_keys"]) == {"alice-ci"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: k, roles: [reader]}", r"api_keys\[0\] \(k\): give exactly one owner"),
        ("{name: k, user: alice, client: svc}", r"api_keys\[0\] \(k\): give exactly one owner"),
        ("{name: k, user: nobody}", r"api_keys\[0\] \(k\)\.user: unknown user 'nobody'"),
        ("{name: k, client: nobody}", r"api_keys\[0\] \(k\)\.client: unknown client 'nobody'"),
        ("{name: k, user: alice, roles: [ghost]}", r"\(k\)\.roles: unknown role 'ghost'"),
        ("{name: k, user: alice, expires_in: -5}", r"\(k\)\.expires_in: must be a positive"),
        ("{name: k, user: alice, allowed_ips: [10.0.0.1/8]}", r"\(k\)\.allowed_ips: .*CIDR"),
        ("{name: k, user: alice, allowed_ips: 10.0.0.0/8}", r"\(k\)\.allowed_ips: must be a list"),
        ("{name: k, user: alice, secret: x}", r"\(k\): unknown field 'secret'"),
        ("{user: alice}", r"api_keys\[0\]: missing required field 'name'"),
    ],
)
def test_errors_name_file_entry_and_field_and_write_nothing(db, write, entry, message) -> None:
    path = write(CONFIG.split("api_keys:")[0] + f"api_keys:\n  - {entry}\n")
    with pytest.raises(ConfigError, match=message) as error:
        apply_file(path)
    assert str(error.value).startswith(str(path))
    assert ApiKey.objects.count() == 0
    from accounts.models import User

    assert not User.objects.exists()  # the whole file, not just the key


def test_command_reports_errors(db, write) -> None:
    with pytest.raises(CommandError, match="exactly one owner"):
        call_command("apply", str(write("api_keys:\n  - {name: k}\n")))
