"""Password sign-in against a real slapd through the login page: JIT provisioning in both bind
modes, mapped roles in introspection, throttling like any other failure, local accounts never
taken over, and a directory that cannot be reached."""

from __future__ import annotations

import pytest

from accounts.models import User
from audit.models import AuditEvent
from core.actors import APPLY
from directory.models import DirectoryLink
from roles import services as role_services
from roles.models import UserRole
from roles.services import AssignmentSpec
from tests.conftest import PASSWORD, introspect, login
from tests.directory import slapd
from tests.directory.conftest import set_membership
from tests.roles.conftest import user_tokens

pytestmark = pytest.mark.live


def _signed_in(response) -> bool:
    return response.status_code == 302


def test_search_mode_provisions_the_user_at_the_first_sign_in(client, make_directory):
    make_directory()
    response = login(client, "alice", slapd.PASSWORDS["alice"])
    assert _signed_in(response), response.content
    user = User.objects.get(username="alice")
    assert not user.has_usable_password()
    assert (user.email, user.name) == ("alice@example.org", "Alice Example")
    link = DirectoryLink.objects.get(user=user)
    assert link.dn == slapd.user_dn("alice") and len(link.entry_id) == 36  # entryUUID
    created = AuditEvent.objects.get(event="user.created", target="alice")
    assert created.actor == "directory:corp"
    assert AuditEvent.objects.filter(event="directory.user_linked", target="alice").exists()


def test_a_second_sign_in_uses_the_same_account_and_refreshes_the_profile(
    client, make_directory, ldap_admin
):
    make_directory()
    assert _signed_in(login(client, "bob", slapd.PASSWORDS["bob"]))
    first = User.objects.get(username="bob")
    assert ldap_admin.modify(slapd.user_dn("bob"), {"cn": [("MODIFY_REPLACE", ["Robert B"])]})
    try:
        client.logout()
        assert _signed_in(login(client, "BOB", slapd.PASSWORDS["bob"]))  # LDAP is case-blind
        assert list(User.objects.filter(username__iexact="bob")) == [first]
        first.refresh_from_db()
        assert first.name == "Robert B"
    finally:
        ldap_admin.modify(slapd.user_dn("bob"), {"cn": [("MODIFY_REPLACE", ["Bob Example"])]})


def test_direct_bind_mode_signs_in_with_the_dn_template(client, make_directory):
    make_directory(
        bind_mode="direct",
        bind_dn="",
        bind_password="",
        user_dn_template=f"uid={{username}},{slapd.PEOPLE}",
        sync=False,
    )
    assert _signed_in(login(client, "dave", slapd.PASSWORDS["dave"]))
    assert DirectoryLink.objects.get(user__username="dave").dn == slapd.user_dn("dave")
    client.logout()
    assert not _signed_in(login(client, "dave", "not-daves-password"))


def test_a_group_maps_to_a_role_that_shows_in_introspection_and_goes_with_the_group(
    client, make_directory, web_client, resource_server, ldap_admin
):
    role_services.role_create(actor=APPLY, name="platform-admin", permissions=["infra:admin"])
    role_services.role_create(actor=APPLY, name="hand-given", permissions=["wiki:read"])
    make_directory(role_mapping=[{"group": "platform-admins", "roles": ["platform-admin"]}])
    assert _signed_in(login(client, "alice", slapd.PASSWORDS["alice"]))
    tokens = user_tokens(client, web_client, "alice", login_first=False)
    answer = introspect(client, resource_server, tokens["access_token"])
    assert answer["active"] and answer["roles"] == ["platform-admin"]
    assigned = AuditEvent.objects.get(event="role.assigned", target="user:alice")
    assert assigned.actor == "directory:corp"

    alice = User.objects.get(username="alice")
    role_services.user_roles_set(
        user=alice, assignments=[AssignmentSpec("platform-admin"), AssignmentSpec("hand-given")]
    )
    set_membership(ldap_admin, "platform-admins", "alice", member=False)
    try:
        client.logout()
        assert _signed_in(login(client, "alice", slapd.PASSWORDS["alice"]))
        # The mapped role went with the group; the role nobody maps stayed.
        held = set(UserRole.objects.filter(user=alice).values_list("role__name", flat=True))
        assert held == {"hand-given"}
    finally:
        set_membership(ldap_admin, "platform-admins", "alice", member=True)


def test_a_wrong_directory_password_is_throttled_like_any_other(client, make_directory, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    make_directory()
    for _ in range(3):
        response = login(client, "erin", "wrong-password")
        assert response.status_code == 200 and b"not right" in response.content
    failures = AuditEvent.objects.filter(event="login", target="erin", data__reason="credentials")
    assert failures.count() == 3
    assert AuditEvent.objects.filter(event="login.throttled", target="erin").exists()
    # Blocked now: even the right password is refused, and no account was made.
    response = login(client, "erin", slapd.PASSWORDS["erin"])
    assert not _signed_in(response)
    assert AuditEvent.objects.filter(
        event="login", target="erin", data__reason="throttled"
    ).exists()
    assert not User.objects.filter(username="erin").exists()


def test_a_local_account_is_never_taken_over_by_a_directory_entry(
    client, make_directory, make_user
):
    make_user("carol")  # a local account with its own password
    make_directory()
    assert not _signed_in(login(client, "carol", slapd.PASSWORDS["carol"]))
    assert not DirectoryLink.objects.exists()
    assert _signed_in(login(client, "carol", PASSWORD))


@pytest.mark.parametrize("typed", ["*", "al*", "alice)(uid=*", "alice\\2a"])
def test_filter_characters_in_the_username_are_only_characters(client, make_directory, typed):
    make_directory()
    assert not _signed_in(login(client, typed, slapd.PASSWORDS["alice"]))
    assert not User.objects.filter(username="alice").exists()


def test_an_unreachable_directory_is_said_so_and_local_accounts_still_sign_in(
    client, make_directory, make_user
):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    make_directory(urls=[f"ldap://127.0.0.1:{closed}"])
    response = login(client, "alice", slapd.PASSWORDS["alice"])
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert b"Cannot reach the directory" in response.content
    event = AuditEvent.objects.get(event="login", target="alice")
    assert event.data["reason"] == "directory_unreachable"
    make_user("zoe")
    assert _signed_in(login(client, "zoe", PASSWORD))


def test_a_second_server_url_is_tried_when_the_first_is_down(client, make_directory, slapd_server):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    make_directory(urls=[f"ldap://127.0.0.1:{closed}", slapd_server.url])
    assert _signed_in(login(client, "alice", slapd.PASSWORDS["alice"]))
