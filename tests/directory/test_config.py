"""The ``directories`` section of ``manage.py apply``: created and updated through the audited
service, the service account's password encrypted and never exported, every field's problem
named, the dry run's plan."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from audit.models import AuditEvent
from core import crypto
from core.declarative import export_text, plan_text
from directory.models import Directory
from tests.configfiles import apply

CONFIG = """
roles:
  - name: platform-admin
    permissions: [infra:admin]
directories:
  - slug: corp
    name: Corp LDAP
    urls: [ldaps://ldap1.corp.example, ldaps://ldap2.corp.example]
    bind_mode: search
    bind_dn: cn=reader,dc=corp,dc=example
    bind_password: "s3rvice-account-secret"
    user_base: ou=people,dc=corp,dc=example
    user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
    attributes: {username: uid, email: mail, name: displayName, uuid: entryUUID}
    groups: {base: "ou=groups,dc=corp,dc=example", member_attribute: member}
    role_mapping:
      - group: platform-admins
        roles: [platform-admin]
    sync: true
"""


def test_the_section_creates_a_directory_with_its_password_encrypted(db, tmp_path):
    apply(tmp_path, CONFIG)
    directory = Directory.objects.get(slug="corp")
    assert directory.urls == ["ldaps://ldap1.corp.example", "ldaps://ldap2.corp.example"]
    assert (
        directory.name_attribute == "displayName" and directory.group_member_attribute == "member"
    )
    assert directory.role_mapping == [{"group": "platform-admins", "roles": ["platform-admin"]}]
    assert "s3rvice" not in directory.bind_password_encrypted
    assert crypto.decrypt(directory.bind_password_encrypted) == b"s3rvice-account-secret"
    event = AuditEvent.objects.get(event="directory.created")
    assert event.actor == "apply" and event.data == {"roles": ["platform-admin"]}
    assert "s3rvice" not in str(AuditEvent.objects.values_list("data", flat=True))


def test_export_leaves_the_password_out_and_applies_again_unchanged(db, tmp_path):
    apply(tmp_path, CONFIG)
    exported = export_text()
    assert "directories:" in exported and "s3rvice" not in exported
    assert "bind_password" not in exported
    plan = plan_text("export.yaml", exported)
    assert [(i.key, i.status) for i in plan.sections["directories"]] == [("corp", "left")]


def test_the_dry_run_names_what_changes(db, tmp_path):
    apply(tmp_path, CONFIG)
    plan = plan_text(
        "change.yaml",
        "directories:\n  - slug: corp\n    sync: false\n  - slug: new\n"
        "    urls: [ldaps://ldap.new.example]\n    bind_mode: direct\n"
        "    user_dn_template: 'uid={username},ou=people,dc=new'\n",
    )
    items = {i.key: (i.status, i.fields) for i in plan.sections["directories"]}
    assert items == {"corp": ("changed", ("sync",)), "new": ("created", ())}
    assert not Directory.objects.filter(slug="new").exists()


def test_a_changed_password_is_an_update_a_same_one_is_not(db, tmp_path):
    apply(tmp_path, CONFIG)
    same, _ = apply(tmp_path, CONFIG)
    assert "updated directory corp" not in same
    changed, _ = apply(tmp_path, CONFIG.replace("s3rvice-account-secret", "rotated-secret"))
    assert "updated directory corp" in changed
    event = AuditEvent.objects.get(event="directory.updated")
    assert event.data == {"fields": ["bind_password"]}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("ldaps://ldap2.corp", "ldaps:x", "'ldaps:x.example' is not an ldap:// or ldaps:// URL"),
        ("ldaps://ldap1", "ldap://ldap1", "would send passwords in clear"),
        ("(uid={username}))", "(uid={username})))", "is not a valid LDAP filter"),
        ("roles: [platform-admin]", "roles: [nobody]", "unknown role(s): nobody"),
        ("user_base: ou=people,dc=corp,dc=example", "user_base: ''", "needs the base DN"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(db, tmp_path, old, new, message):
    with pytest.raises(CommandError) as caught:
        apply(tmp_path, CONFIG.replace(old, new, 1))
    assert message in str(caught.value) and "directories[0] (corp)" in str(caught.value)
    assert not Directory.objects.exists()
