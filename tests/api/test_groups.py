"""Groups over the management API: CRUD, members, cycles refused, the guard, audit."""

from __future__ import annotations

from audit.models import AuditEvent
from core.actors import APPLY
from roles import group_services
from roles.models import Group
from tests.api.conftest import assert_problem, error_fields


def test_create_nest_read_and_list(admin, make_role):
    make_role("viewer", permissions=["orders:read"])
    make_role("editor", parents=["viewer"], permissions=["orders:write"])
    assert admin.post("/api/v1/groups/", {"name": "staff", "roles": ["viewer"]}).status_code == 201
    created = admin.post(
        "/api/v1/groups/",
        {"name": "support", "description": "First line", "parents": ["staff"], "roles": ["editor"]},
    )
    assert created.status_code == 201, created.content
    body = admin.get("/api/v1/groups/support/").json()
    assert body["parents"] == ["staff"] and body["ancestors"] == ["staff"]
    assert body["roles"] == ["editor"]
    assert body["effective_roles"] == ["editor", "viewer"]
    assert body["members"] == 0
    listed = admin.get("/api/v1/groups/?name=SUP").json()
    assert [g["name"] for g in listed["results"]] == ["support"]
    assert AuditEvent.objects.filter(event="group.created", target="support").exists()


def test_members_get_the_groups_roles(admin, make_role, make_user):
    make_role("viewer", permissions=["orders:read"])
    make_user("mia")
    admin.post("/api/v1/groups/", {"name": "staff", "roles": ["viewer"]})
    added = admin.put("/api/v1/groups/staff/members/mia/", {})
    assert added.status_code == 201 and added.json()["username"] == "mia"
    assert admin.put("/api/v1/groups/staff/members/mia/").status_code == 200
    user = admin.get("/api/v1/users/mia/").json()
    assert user["roles"] == ["viewer"] and user["groups"] == ["staff"]
    members = admin.get("/api/v1/groups/staff/members/").json()["results"]
    assert [m["username"] for m in members] == ["mia"]
    assert admin.delete("/api/v1/groups/staff/members/mia/").status_code == 204
    assert admin.get("/api/v1/users/mia/").json()["roles"] == []
    missing = admin.delete("/api/v1/groups/staff/members/mia/")
    assert assert_problem(missing, 404, "not-found")["detail"] == "Group member 'mia' not found."
    events = AuditEvent.objects.filter(target="user:mia", event__startswith="group.member")
    assert sorted(events.values_list("event", flat=True)) == [
        "group.member_added",
        "group.member_removed",
    ]


def test_update_renames_sets_roles_and_refuses_a_cycle(admin, make_role):
    make_role("viewer", permissions=["orders:read"])
    admin.post("/api/v1/groups/", {"name": "a"})
    admin.post("/api/v1/groups/", {"name": "b", "parents": ["a"]})
    refused = assert_problem(
        admin.patch("/api/v1/groups/a/", {"parents": ["b"]}), 400, "validation-error"
    )
    assert "groups would inherit from themselves" in str(error_fields(refused)["parents"])
    changed = admin.patch("/api/v1/groups/a/", {"name": "top", "roles": ["viewer"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "top" and changed.json()["roles"] == ["viewer"]
    assert admin.get("/api/v1/groups/b/").json()["effective_roles"] == ["viewer"]
    unknown = admin.patch("/api/v1/groups/top/", {"roles": ["ghost"], "colour": "red"})
    fields = error_fields(assert_problem(unknown, 400, "validation-error"))
    assert fields["colour"] == ["This field is not accepted here."]


def test_delete_detaches_child_groups(admin):
    admin.post("/api/v1/groups/", {"name": "a"})
    admin.post("/api/v1/groups/", {"name": "b", "parents": ["a"]})
    assert admin.delete("/api/v1/groups/a/").status_code == 204
    assert admin.get("/api/v1/groups/b/").json()["parents"] == []
    missing = assert_problem(admin.get("/api/v1/groups/a/"), 404, "not-found")
    assert missing["detail"] == "Group 'a' not found."


def test_reads_and_writes_need_the_group_permissions(caller, make_user):
    reader = caller("groups:read", "users:read")
    assert reader.get("/api/v1/groups/").status_code == 200
    refused = assert_problem(
        reader.post("/api/v1/groups/", {"name": "x"}), 403, "permission-denied"
    )
    assert "groups:write" in refused["detail"]
    nobody = caller("users:read")
    assert_problem(nobody.get("/api/v1/groups/"), 403, "permission-denied")
    assert not Group.objects.exists()


def test_nobody_hands_out_through_a_group_what_they_do_not_hold(caller, make_role, make_user):
    make_role("admin-role", permissions=["users:write", "orders:delete"])
    make_user("mia")
    manager = caller("groups:read", "groups:write", "users:read", "users:write")
    refused = manager.post("/api/v1/groups/", {"name": "admins", "roles": ["admin-role"]})
    assert "orders:delete" in assert_problem(refused, 403, "privilege-escalation")["detail"]
    assert manager.post("/api/v1/groups/", {"name": "plain"}).status_code == 201
    plain = Group.objects.get(name="plain")
    group_services.group_roles_set(actor=APPLY, group=plain, roles=["admin-role"])
    assert_problem(manager.put("/api/v1/groups/plain/members/mia/"), 403, "privilege-escalation")
    assert not Group.objects.get(name="plain").members.exists()
