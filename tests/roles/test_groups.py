"""Groups (issue 20): resolution with nesting, cycles refused, invalidation, the guard, audit,
and group-derived roles in tokens, introspection and AuthZEN decisions."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from core import generations
from core.actors import APPLY
from oauth import tokens
from roles import access, group_services, policy, selectors, services
from roles.models import Group
from roles.services import AssignmentSpec
from tests.conftest import basic_auth
from tests.roles.conftest import post_json, user_tokens


def new_request() -> None:
    generations._reset()


# --- pure resolution -------------------------------------------------------------------------

ROLES = policy.RoleGraph.of(
    [
        policy.Role("viewer", permissions=frozenset({"orders:list"})),
        policy.Role("reader", ("viewer",), frozenset({"orders:read"})),
        policy.Role("admin", permissions=frozenset({"orders:delete"})),
    ]
)
GROUPS = policy.GroupGraph.of(
    [
        policy.Group("staff", roles=frozenset({"viewer"})),
        policy.Group("support", ("staff",), frozenset({"reader"})),
        policy.Group("tier2", ("support",)),
        policy.Group("ops", roles=frozenset({"admin"})),
    ]
)


def test_a_group_gives_its_roles_and_its_ancestors_roles() -> None:
    assert GROUPS.ancestry("tier2") == {"tier2", "support", "staff"}
    assert policy.group_roles(GROUPS, ["tier2"]) == {"reader", "viewer"}
    assert policy.group_roles(GROUPS, ["tier2", "ops"]) == {"reader", "viewer", "admin"}
    assert policy.group_roles(GROUPS, ["unknown"]) == frozenset()


def test_a_cycle_in_stored_data_ends_the_walk() -> None:
    looped = policy.GroupGraph.of(
        [policy.Group("a", ("b",), frozenset({"x"})), policy.Group("b", ("a",), frozenset({"y"}))]
    )
    assert policy.group_roles(looped, ["a"]) == {"x", "y"}


def test_role_sources_say_where_each_role_comes_from() -> None:
    sources = policy.role_sources(ROLES, GROUPS, direct=["admin"], member_of=["tier2"])
    assert sources == {
        "admin": (policy.RoleSource("admin"),),
        "reader": (policy.RoleSource("reader", "tier2", "support"),),
        "viewer": (
            policy.RoleSource("viewer", "tier2", "staff"),
            policy.RoleSource("reader", "tier2", "support"),  # inherited from reader
        ),
    }


# --- stored groups ------------------------------------------------------------------------------


@pytest.fixture
def nested(make_role, make_user):
    """staff (viewer) <- support (reader) <- tier2; alice in tier2."""
    make_role("viewer", permissions=["GET /api/public/**"])
    make_role("reader", parents=["viewer"], permissions=["orders:read"])
    make_role("admin", permissions=["orders:delete"], require_mfa=True)
    group_services.group_create(actor=APPLY, name="staff", roles=["viewer"])
    group_services.group_create(actor=APPLY, name="support", parents=["staff"], roles=["reader"])
    tier2 = group_services.group_create(actor=APPLY, name="tier2", parents=["support"])
    alice = make_user("alice")
    group_services.group_member_add(actor=APPLY, group=tier2, user=alice)
    return alice


def test_a_member_holds_the_roles_of_the_group_and_its_ancestors(nested) -> None:
    grant = selectors.user_grant(nested.pk)
    assert grant.roles == {"reader", "viewer"}
    assert grant.allows("orders:read", None, None)
    assert grant.allows("GET", "route", "/api/public/x")
    assert selectors.user_roles(nested) == ["reader", "viewer"]


def test_direct_roles_and_group_roles_add_up(nested) -> None:
    services.user_roles_set(user=nested, assignments=[AssignmentSpec("admin")])
    assert selectors.user_grant(nested.pk).roles == {"admin", "reader", "viewer"}
    assert selectors.user_requires_mfa(nested)
    sources = selectors.user_role_sources(nested.pk)
    assert sources["admin"] == (policy.RoleSource("admin"),)
    assert sources["reader"] == (policy.RoleSource("reader", "tier2", "support"),)


def test_a_direct_assignment_still_expires_while_group_roles_stay(nested, clock) -> None:
    soon = timezone.now() + timezone.timedelta(hours=1)
    services.user_roles_set(user=nested, assignments=[AssignmentSpec("admin", soon)])
    assert "admin" in selectors.user_grant(nested.pk).roles
    clock.set(soon.timestamp() + 1)
    assert selectors.user_grant(nested.pk).roles == {"reader", "viewer"}


@pytest.mark.parametrize(
    "change",
    [
        lambda g: group_services.group_member_remove(actor=APPLY, group=g("tier2"), user=g.user),
        lambda g: group_services.group_roles_set(actor=APPLY, group=g("support"), roles=[]),
        lambda g: group_services.group_update(actor=APPLY, group=g("tier2"), parents=[]),
        lambda g: group_services.group_delete(actor=APPLY, group=g("support")),
    ],
    ids=["member removed", "roles set", "parents changed", "parent deleted"],
)
def test_every_group_change_is_seen_by_the_next_request(nested, change) -> None:
    assert "reader" in selectors.user_grant(nested.pk).roles  # warm
    new_request()

    def group(name: str) -> Group:
        return Group.objects.get(name=name)

    group.user = nested
    change(group)
    new_request()
    assert "reader" not in selectors.user_grant(nested.pk).roles


def test_a_membership_added_is_seen_by_the_next_request(nested, make_user) -> None:
    bob = make_user("bob")
    assert selectors.user_grant(bob.pk).roles == frozenset()
    new_request()
    group_services.user_groups_set(actor=APPLY, user=bob, groups=["staff"])
    new_request()
    assert selectors.user_grant(bob.pk).roles == {"viewer"}


def test_warm_resolution_needs_no_query_beyond_the_generation_read(nested) -> None:
    selectors.user_grant(nested.pk)
    new_request()
    with CaptureQueriesContext(connection) as queries:
        assert selectors.user_grant(nested.pk).roles == {"reader", "viewer"}
    assert [q["sql"] for q in queries] == ["SELECT name, value FROM core_generation"]


def test_cycles_are_refused_with_nothing_written(nested) -> None:
    staff = Group.objects.get(name="staff")
    with pytest.raises(ValidationError) as raised:
        group_services.group_update(actor=APPLY, group=staff, parents=["tier2"])
    assert "groups would inherit from themselves: staff -> tier2 -> support -> staff" in str(
        raised.value
    )
    assert not staff.parents.exists()
    with pytest.raises(ValidationError):
        group_services.group_update(actor=APPLY, group=staff, parents=["staff"])


def test_unknown_names_are_refused(nested) -> None:
    with pytest.raises(ValidationError, match="unknown role"):
        group_services.group_create(actor=APPLY, name="x", roles=["nope"])
    with pytest.raises(ValidationError, match="unknown group"):
        group_services.group_create(actor=APPLY, name="y", parents=["nope"])
    with pytest.raises(ValidationError):
        group_services.group_create(actor=APPLY, name="bad name!")
    assert not Group.objects.filter(name__in=["x", "y"]).exists()


def test_each_change_is_audited(nested, make_user) -> None:
    events = list(
        AuditEvent.objects.filter(event__startswith="group.").values_list("event", "target")
    )
    assert ("group.created", "tier2") in events
    assert ("group.member_added", "user:alice") in events
    support = Group.objects.get(name="support")
    group_services.group_roles_set(actor=APPLY, group=support, roles=["admin"])
    event = AuditEvent.objects.filter(event="group.roles_set").get()
    assert event.data["added"] == ["admin"] and event.data["removed"] == ["reader"]
    group_services.group_update(actor=APPLY, group=support, name="helpdesk")
    assert AuditEvent.objects.filter(event="group.updated").get().data["previous"] == "support"
    group_services.group_delete(actor=APPLY, group=support)
    deleted = AuditEvent.objects.filter(event="group.deleted").get()
    assert deleted.data["children"] == ["tier2"]
    assert Group.objects.get(name="tier2").parents.count() == 0


def test_nobody_hands_out_through_a_group_what_they_do_not_hold(nested, make_user) -> None:
    services.role_create(actor=APPLY, name="group-manager", permissions=["groups:write"])
    manager = make_user("manager")
    services.user_roles_set(user=manager, assignments=[AssignmentSpec("group-manager")])
    actor = access.acting(
        access.principal_for_user(manager, factor_time=timezone.now().timestamp())
    )
    bob = make_user("bob")
    staff = Group.objects.get(name="staff")
    with pytest.raises(access.EscalationDenied):
        group_services.group_member_add(actor=actor, group=staff, user=bob)
    with pytest.raises(access.EscalationDenied):
        group_services.group_create(actor=actor, name="mine", roles=["admin"])
    with pytest.raises(access.EscalationDenied):
        group_services.group_create(actor=actor, name="mine", parents=["support"])
    with pytest.raises(access.EscalationDenied):
        access.require_group_write(actor.principal, staff)
    group_services.group_create(actor=actor, name="empty")  # gives nothing: allowed
    assert not staff.members.filter(pk=bob.pk).exists()
    assert not Group.objects.filter(name="mine").exists()


def test_a_person_without_a_fresh_factor_changes_no_membership(nested, make_user) -> None:
    services.role_create(actor=APPLY, name="boss", permissions=["groups:write", "orders:read"])
    services.role_update(
        actor=APPLY,
        role=services.Role.objects.get(name="boss"),
        parents=["reader"],
    )
    boss = make_user("boss")
    services.user_roles_set(user=boss, assignments=[AssignmentSpec("boss")])
    actor = access.acting(access.principal_for_user(boss))  # no second factor proved
    with pytest.raises(access.ReauthenticationRequired):
        group_services.group_member_add(
            actor=actor, group=Group.objects.get(name="staff"), user=boss
        )
    assert not Group.objects.get(name="staff").members.exists()


# --- where roles are resolved -------------------------------------------------------------------


def test_tokens_and_introspection_carry_group_derived_roles(
    client, nested, roles_web_client, resource_server
) -> None:
    issued = user_tokens(client, roles_web_client, "alice", scope="openid roles")
    assert tokens.unverified_claims(issued["access_token"])["roles"] == ["reader", "viewer"]
    assert tokens.unverified_claims(issued["id_token"])["roles"] == ["reader", "viewer"]
    rs, secret = resource_server
    answer = client.post(
        "/o/introspect/",
        {"token": issued["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret),
    ).json()
    assert answer["roles"] == ["reader", "viewer"]
    assert "orders:read" in answer["permissions"]
    group_services.group_member_remove(
        actor=APPLY, group=Group.objects.get(name="tier2"), user=nested
    )
    answer = client.post(
        "/o/introspect/",
        {"token": issued["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret),
    ).json()
    assert answer["roles"] == [] and answer["permissions"] == []


def test_authzen_decides_with_group_derived_roles(client, nested, pdp_caller) -> None:
    gateway, secret = pdp_caller
    body = {
        "subject": {"type": "user", "id": "alice"},
        "action": {"name": "orders:read"},
        "resource": {"type": "order", "id": "1"},
    }
    auth = basic_auth(gateway.client_id, secret)
    answer = post_json(client, "/access/v1/evaluation", body, HTTP_AUTHORIZATION=auth)
    assert answer.json()["decision"] is True
    group_services.group_roles_set(actor=APPLY, group=Group.objects.get(name="support"), roles=[])
    answer = post_json(client, "/access/v1/evaluation", body, HTTP_AUTHORIZATION=auth)
    assert answer.json()["decision"] is False
