"""``manage.py apply`` with roles: the section, roles on users and clients, checks first."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from core.declarative import ConfigError, apply_file
from oauth.models import Client
from roles import selectors
from roles.models import ClientRole, Role, UserRole
from tests.configfiles import write_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roles.yaml"

ISSUE_EXAMPLE = """
roles:
  - name: reader
    permissions: [orders:read, "GET /api/orders/**"]
  - name: editor
    parents: [reader]
    permissions: [orders:write, "POST /api/orders", "PUT /api/orders/*"]
  - name: admin
    parents: [editor]
    permissions: ["* /api/**"]
    require_mfa: true
users:
  - username: alice
    password: "correct horse battery staple"
    roles: [editor]
  - username: bob
    password: "correct horse battery staple"
    roles: [reader, {name: admin, expires: "2030-01-01T00:00:00Z"}]
clients:
  - client_id: svc
    name: Service
    type: confidential
    grant_types: [client_credentials]
    roles: [reader]
"""


@pytest.fixture
def write(tmp_path):
    return functools.partial(write_config, tmp_path)


def test_the_issue_example_applies(db, write) -> None:
    result = apply_file(write(ISSUE_EXAMPLE))
    assert "created role admin" in result.changes
    alice = User.objects.get(username="alice")
    assert selectors.user_roles(alice) == ["editor", "reader"]
    bob = User.objects.get(username="bob")
    admin = UserRole.objects.get(user=bob, role__name="admin")
    assert admin.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert selectors.user_requires_mfa(bob)
    svc = Client.objects.get(client_id="svc")
    assert selectors.client_grant(svc).roles == {"reader"}
    assert Role.objects.get(name="editor").permissions.count() == 3


def test_apply_is_idempotent_and_lists_replace(db, write) -> None:
    path = write(ISSUE_EXAMPLE)
    apply_file(path)
    assert apply_file(path).changes == []
    apply_file(
        write(
            "roles:\n  - name: reader\n    permissions: [orders:read]\n"
            "users:\n  - username: alice\n    roles: [reader]\n"
        )
    )
    assert list(Role.objects.get(name="reader").permissions.values_list("value", flat=True)) == [
        "orders:read"
    ]
    assert selectors.user_roles(User.objects.get(username="alice")) == ["reader"]
    assert Role.objects.get(name="editor").parents.get().name == "reader"  # untouched


def test_the_example_catalogue_applies(db) -> None:
    apply_file(EXAMPLE)
    graph = selectors.role_graph()
    assert set(graph.roles) >= {"admin", "service-account", "user", "read-only"}
    read_only = selectors.grant_for_roles(frozenset({"read-only"}))
    assert read_only.allows("GET", "route", "/api/orders/1")
    assert not read_only.allows("POST", "route", "/api/orders")
    admin = selectors.grant_for_roles(frozenset({"admin"}))
    assert admin.allows("DELETE", "route", "/api/admin/users/1") and admin.require_mfa
    service = selectors.grant_for_roles(frozenset({"service-account"}))
    assert service.allows("GET", "route", "/api/orders/1")
    assert not service.allows("DELETE", "route", "/api/orders/1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "roles:\n  - name: a\n    parents: [b]\n  - name: b\n",
            "roles[0] (a).parents: unknown role 'b'",
        ),
        (
            "roles:\n  - name: a\n  - name: b\n    parents: [a]\n  - name: a\n    parents: [b]\n",
            "appears twice",
        ),
        (
            "roles:\n  - name: a\n    permissions: ['GET /x/y*']\n",
            "roles[0] (a).permissions",
        ),
        ("roles:\n  - name: 'bad name'\n", "roles[0] (bad name).name: must be"),
        (
            "users:\n  - username: carol\n    roles: [ghost]\n",
            "users[0] (carol).roles: unknown role",
        ),
        (
            "users:\n  - username: carol\n    roles: [{name: x, expires: tomorrow}]\n",
            "users[0] (carol).roles: expires",
        ),
        (
            "users:\n  - username: carol\n    roles: [{name: x, expires: 2030-01-01T00:00:00}]\n",
            "timezone",
        ),
        ("clients:\n  - name: anon\n    roles: [x]\n", "needs 'client_id'"),
    ],
)
def test_bad_files_are_rejected_with_nothing_written(db, write, text, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        apply_file(write(text))
    assert not Role.objects.exists() and not User.objects.exists()


def test_a_cycle_through_stored_roles_is_rejected_before_writing(db, write) -> None:
    apply_file(write("roles:\n  - name: a\n  - name: b\n    parents: [a]\n"))
    path = write("roles:\n  - name: c\n  - name: a\n    parents: [b]\n")
    with pytest.raises(ConfigError, match=r"roles\[1\] \(a\)\.parents: .*a -> b -> a"):
        apply_file(path)
    assert not Role.objects.filter(name="c").exists()
    assert not Role.objects.get(name="a").parents.exists()


def test_a_failure_late_in_the_file_writes_nothing(db, write) -> None:
    text = (
        ISSUE_EXAMPLE
        + "  - client_id: bad\n    type: public\n    grant_types: [client_credentials]\n"
    )
    with pytest.raises(ConfigError, match="clients\\[1\\] \\(bad\\)"):
        apply_file(write(text))
    assert not Role.objects.exists()
    assert not ClientRole.objects.exists()


def test_the_command_reports_errors(db, write) -> None:
    with pytest.raises(CommandError, match="unknown role"):
        call_command("apply", str(write("users:\n  - username: x\n    roles: [nope]\n")))
