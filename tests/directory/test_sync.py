"""The periodic sync against a real slapd: a user removed from the directory is disabled, their
sessions and tokens end; mapped roles and local groups follow the directory's groups; nothing
is disabled while the directory cannot be asked."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from audit.models import AuditEvent
from core.actors import APPLY
from directory import tasks
from roles import group_services, selectors
from roles import services as role_services
from roles.models import Group, UserRole
from tests.conftest import introspect, login
from tests.directory import slapd
from tests.directory.conftest import set_membership
from tests.roles.conftest import user_tokens

pytestmark = pytest.mark.live


@pytest.fixture
def frank_entry(ldap_admin):
    """A user entry of its own (deleted by the test), put back afterwards."""
    dn = f"uid=frank,{slapd.PEOPLE}"
    assert ldap_admin.add(
        dn,
        ["inetOrgPerson"],
        {"uid": "frank", "cn": "Frank Example", "sn": "Example", "userPassword": "frank-pass-1"},
    ), ldap_admin.result
    yield dn
    ldap_admin.delete(dn)


def test_a_user_removed_from_the_directory_is_disabled_and_their_tokens_end(
    client, make_directory, web_client, resource_server, ldap_admin, frank_entry
):
    make_directory()
    assert login(client, "bob", slapd.PASSWORDS["bob"]).status_code == 302
    client.logout()
    assert login(client, "frank", "frank-pass-1").status_code == 302
    tokens = user_tokens(client, web_client, "frank", login_first=False)
    assert introspect(client, resource_server, tokens["access_token"])["active"] is True

    assert ldap_admin.delete(frank_entry)
    out = io.StringIO()
    call_command("sync_directories", stdout=out)
    assert out.getvalue().strip() == "corp: 2 checked, 1 disabled"

    frank, bob = User.objects.get(username="frank"), User.objects.get(username="bob")
    assert not frank.is_active and bob.is_active
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    disabled = AuditEvent.objects.get(event="user.disabled", target="frank")
    assert disabled.actor == "directory:corp"
    synced = AuditEvent.objects.get(event="directory.synced", target="corp")
    assert synced.data == {"checked": 2, "disabled": 1}
    # Back in the directory or not, the password no longer signs in.
    client.logout()
    assert login(client, "frank", "frank-pass-1").status_code == 200


def test_the_sync_refreshes_mapped_roles(make_directory, client, ldap_admin):
    role_services.role_create(actor=APPLY, name="staff-member", permissions=["wiki:read"])
    make_directory(role_mapping=[{"group": "staff", "roles": ["staff-member"]}])
    assert login(client, "bob", slapd.PASSWORDS["bob"]).status_code == 302
    bob = User.objects.get(username="bob")
    assert UserRole.objects.filter(user=bob, role__name="staff-member").exists()
    set_membership(ldap_admin, "staff", "bob", member=False)
    try:
        tasks.sync_directories_task.delay()  # what beat runs (eager in tests)
        assert not UserRole.objects.filter(user=bob).exists()
        assert User.objects.get(pk=bob.pk).is_active
    finally:
        set_membership(ldap_admin, "staff", "bob", member=True)


def test_nothing_is_disabled_while_the_directory_cannot_be_asked(make_directory, client):
    directory = make_directory()
    assert login(client, "bob", slapd.PASSWORDS["bob"]).status_code == 302
    directory.urls = ["ldap://127.0.0.1:9"]
    directory.allow_plaintext = True
    directory.save()
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sync_directories", "corp", stderr=err)
    assert "corp: failed" in err.getvalue()
    assert User.objects.get(username="bob").is_active
    assert AuditEvent.objects.filter(event="directory.sync_failed", target="corp").exists()


def test_an_ldap_group_maps_to_a_local_group_at_sign_in_and_in_the_sync(
    make_directory, client, ldap_admin
):
    role_services.role_create(actor=APPLY, name="operator", permissions=["ops:run"])
    group_services.group_create(actor=APPLY, name="operators", roles=["operator"])
    group_services.group_create(actor=APPLY, name="unmapped")
    make_directory(role_mapping=[{"group": "staff", "groups": ["operators"]}])
    assert login(client, "bob", slapd.PASSWORDS["bob"]).status_code == 302
    bob = User.objects.get(username="bob")
    assert set(bob.member_groups.values_list("name", flat=True)) == {"operators"}
    assert "operator" in selectors.user_grant(bob.pk).roles
    added = AuditEvent.objects.get(event="group.member_added", target="user:bob")
    assert added.actor == "directory:corp"
    # a group the mapping does not name is left alone
    group_services.group_member_add(actor=APPLY, group=Group.objects.get(name="unmapped"), user=bob)
    set_membership(ldap_admin, "staff", "bob", member=False)
    try:
        tasks.sync_directories_task.delay()
        assert set(bob.member_groups.values_list("name", flat=True)) == {"unmapped"}
        assert "operator" not in selectors.user_grant(bob.pk).roles
        removed = AuditEvent.objects.get(event="group.member_removed", target="user:bob")
        assert removed.actor == "directory:corp"
    finally:
        set_membership(ldap_admin, "staff", "bob", member=True)


def test_mapping_to_an_unknown_local_group_is_refused(make_directory):
    with pytest.raises(ValidationError) as refused:
        make_directory(role_mapping=[{"group": "staff", "groups": ["nope"]}])
    assert "unknown group(s): nope" in str(refused.value)
