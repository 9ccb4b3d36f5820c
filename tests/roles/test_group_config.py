"""``manage.py apply`` with groups: the section, ``groups`` on users, checks first, the export
round trip and the dry run."""

from __future__ import annotations

import functools

import pytest

from accounts.models import User
from core import declarative
from core.declarative import ConfigError, apply_file
from roles import selectors
from roles.models import Group
from tests.configfiles import write_config

ISSUE_EXAMPLE = """
roles:
  - name: reader
    permissions: [orders:read]
  - name: staff-role
    permissions: [wiki:read]
groups:
  - name: staff
    roles: [staff-role]
  - name: support
    description: First-line support
    roles: [reader]
    parents: [staff]
    members: [alice, bob]
users:
  - username: alice
    password: "correct horse battery staple"
  - username: bob
    password: "correct horse battery staple"
  - username: carol
    password: "correct horse battery staple"
    groups: [staff]
"""


@pytest.fixture
def write(tmp_path):
    return functools.partial(write_config, tmp_path)


def test_the_issue_example_applies_and_is_idempotent(db, write) -> None:
    path = write(ISSUE_EXAMPLE)
    result = apply_file(path)
    assert "created group support" in result.changes
    alice = User.objects.get(username="alice")
    assert selectors.user_roles(alice) == ["reader", "staff-role"]
    carol = User.objects.get(username="carol")
    assert selectors.user_roles(carol) == ["staff-role"]
    support = Group.objects.get(name="support")
    assert support.description == "First-line support"
    assert sorted(support.members.values_list("username", flat=True)) == ["alice", "bob"]
    assert apply_file(path).changes == []


def test_lists_given_replace_the_stored_ones(db, write) -> None:
    apply_file(write(ISSUE_EXAMPLE))
    result = apply_file(
        write("groups:\n  - name: support\n    roles: []\n    members: [bob]\n    parents: []\n")
    )
    assert result.changes == ["updated group support", "updated members of group support"]
    support = Group.objects.get(name="support")
    assert list(support.members.values_list("username", flat=True)) == ["bob"]
    assert not support.roles.exists() and not support.parents.exists()
    assert selectors.user_roles(User.objects.get(username="alice")) == []


def test_export_round_trips(db, write) -> None:
    apply_file(write(ISSUE_EXAMPLE))
    exported = declarative.export_text()
    assert exported.index("- name: staff\n") < exported.index("- name: support\n")
    Group.objects.all().delete()
    apply_file(write(exported))
    groups = declarative.export_document()["groups"]
    assert groups == [
        {"name": "staff", "roles": ["staff-role"], "members": ["carol"]},
        {
            "name": "support",
            "description": "First-line support",
            "parents": ["staff"],
            "roles": ["reader"],
            "members": ["alice", "bob"],
        },
    ]


def test_the_dry_run_names_created_and_changed_groups(db, write) -> None:
    apply_file(write(ISSUE_EXAMPLE))
    plan = declarative.plan_text(
        "upload.yaml",
        "groups:\n  - name: support\n    members: [alice]\n  - name: new\n    roles: [reader]\n",
    )
    items = {i.key: (i.status, i.fields) for i in plan.sections["groups"]}
    assert items == {"support": ("changed", ("members",)), "new": ("created", ())}
    assert not Group.objects.filter(name="new").exists()
    assert Group.objects.get(name="support").members.count() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "groups: [{name: a, parents: [b]}, {name: b}]",
            r"groups\[0\] \(a\)\.parents: unknown group 'b'",
        ),
        ("groups: [{name: a, roles: [nope]}]", r"groups\[0\] \(a\)\.roles: unknown role 'nope'"),
        (
            "groups: [{name: a, members: [ghost]}]",
            r"groups\[0\] \(a\)\.members: unknown user 'ghost'",
        ),
        (
            "groups: [{name: a}, {name: b, parents: [a]}, {name: a, parents: [b]}]",
            "appears twice",
        ),
        ("users: [{username: x, groups: [nope]}]", r"users\[0\] \(x\)\.groups: unknown group"),
        (
            "groups: [{name: a, members: [x]}]\nusers: [{username: x, groups: []}]",
            "contradicts the members of group 'a'",
        ),
        ("groups: [{name: a, colour: red}]", "unknown field 'colour'"),
    ],
)
def test_bad_files_are_rejected_with_nothing_written(db, write, text, message) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_file(write(text))
    assert not Group.objects.exists()
    assert not User.objects.exists()


def test_a_cycle_through_stored_groups_is_rejected_before_writing(db, write) -> None:
    apply_file(write("groups: [{name: a}, {name: b, parents: [a]}]"))
    with pytest.raises(ConfigError, match="groups would inherit from themselves"):
        apply_file(write("groups: [{name: a, parents: [b], description: changed}]"))
    assert Group.objects.get(name="a").description == ""
