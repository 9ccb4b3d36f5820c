"""Roles and assignments, and the hierarchy guard (no escalation, OWASP API5)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from roles import services as role_services
from roles.models import ClientRole, Role, UserRole
from roles.services import AssignmentSpec
from tests.api.conftest import assert_problem, error_fields


def test_role_with_parents_shows_own_and_inherited_permissions(admin):
    assert (
        admin.post("/api/v1/roles/", {"name": "reader", "permissions": ["orders:read"]}).status_code
        == 201
    )
    created = admin.post(
        "/api/v1/roles/",
        {"name": "editor", "parents": ["reader"], "permissions": ["GET /api/ord*"]},
    )
    assert "permissions" in error_fields(assert_problem(created, 400, "validation-error"))
    created = admin.post(
        "/api/v1/roles/",
        {
            "name": "editor",
            "parents": ["reader"],
            "permissions": ["orders:write", "GET /api/orders/"],
        },
    )
    assert created.status_code == 201, created.content
    body = admin.get("/api/v1/roles/editor/").json()
    assert body["parents"] == ["reader"] and body["ancestors"] == ["reader"]
    assert body["own_permissions"] == ["GET /api/orders", "orders:write"]
    assert body["inherited_permissions"] == ["orders:read"]


def test_update_rejects_a_cycle_and_delete_names_dependants(admin, make_role):
    make_role("a")
    make_role("b", parents=["a"])
    assert_problem(admin.patch("/api/v1/roles/a/", {"parents": ["b"]}), 400, "validation-error")
    refused = assert_problem(admin.delete("/api/v1/roles/a/"), 400, "validation-error")
    assert "b" in str(error_fields(refused))
    assert admin.delete("/api/v1/roles/a/?force=true").status_code == 204
    assert not Role.objects.filter(name="a").exists()


def test_assign_with_expiry_list_and_remove(admin, make_user, make_role, make_client):
    make_user("mia")
    make_role("viewer", permissions=["orders:read"])
    expiry = (timezone.now() + timedelta(days=1)).isoformat()
    put = admin.put("/api/v1/users/mia/roles/viewer/", {"expires_at": expiry})
    assert put.status_code == 201 and put.json()["role"] == "viewer"
    assert admin.put("/api/v1/users/mia/roles/viewer/", {}).status_code == 200
    assert UserRole.objects.get(user__username="mia").expires_at is None
    listed = admin.get("/api/v1/users/mia/roles/").json()["results"]
    assert [a["role"] for a in listed] == ["viewer"]
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert_problem(
        admin.put("/api/v1/users/mia/roles/viewer/", {"expires_at": past}), 400, "validation-error"
    )
    assert admin.delete("/api/v1/users/mia/roles/viewer/").status_code == 204
    assert_problem(admin.delete("/api/v1/users/mia/roles/viewer/"), 404, "not-found")

    make_client(client_id="svc")
    assert admin.put("/api/v1/clients/svc/roles/viewer/").status_code == 201
    assert ClientRole.objects.filter(client__client_id="svc").count() == 1
    assert admin.delete("/api/v1/clients/svc/roles/viewer/").status_code == 204


def test_unknown_user_role_or_client_is_404(admin, make_role):
    make_role("viewer")
    assert_problem(admin.put("/api/v1/users/ghost/roles/viewer/"), 404, "not-found")
    assert_problem(admin.put("/api/v1/clients/ghost/roles/viewer/"), 404, "not-found")
    assert_problem(admin.get("/api/v1/roles/ghost/"), 404, "not-found")


# --- hierarchy guard ----------------------------------------------------------------------


def test_manager_cannot_create_a_role_with_permissions_it_lacks(caller, make_role):
    manager = caller("roles:read", "roles:write", "users:read")
    refused = manager.post("/api/v1/roles/", {"name": "boss", "permissions": ["users:write"]})
    assert "users:write" in assert_problem(refused, 403, "privilege-escalation")["detail"]
    make_role("powerful", permissions=["audit:read"])
    refused = manager.post("/api/v1/roles/", {"name": "heir", "parents": ["powerful"]})
    assert_problem(refused, 403, "privilege-escalation")  # inheriting counts too
    ok = manager.post("/api/v1/roles/", {"name": "lesser", "permissions": ["users:read"]})
    assert ok.status_code == 201
    assert not Role.objects.filter(name__in=["boss", "heir"]).exists()


def test_manager_cannot_grant_a_higher_role_even_to_itself(caller, make_role, make_user):
    manager = caller("roles:read", "roles:write", name="mgr")
    make_role("superadmin", permissions=["users:write", "roles:write", "roles:read"])
    make_user("nina")
    assert_problem(manager.put("/api/v1/users/nina/roles/superadmin/"), 403, "privilege-escalation")
    assert_problem(
        manager.put("/api/v1/clients/mgr/roles/superadmin/"), 403, "privilege-escalation"
    )
    assert not UserRole.objects.filter(role__name="superadmin").exists()


def test_manager_cannot_change_or_delete_a_role_above_it(caller, make_role):
    manager = caller("roles:read", "roles:write")
    make_role("top", permissions=["audit:read"])
    assert_problem(
        manager.patch("/api/v1/roles/top/", {"permissions": []}), 403, "privilege-escalation"
    )
    assert_problem(manager.delete("/api/v1/roles/top/"), 403, "privilege-escalation")
    own = manager.post("/api/v1/roles/", {"name": "mine"})
    assert own.status_code == 201
    assert_problem(
        manager.patch("/api/v1/roles/mine/", {"parents": ["top"]}), 403, "privilege-escalation"
    )
    assert Role.objects.get(name="top").permissions.count() == 1


def test_user_writer_cannot_touch_a_user_who_outranks_it(caller, make_role, make_user):
    writer = caller("users:read", "users:write")
    make_role("auditor", permissions=["audit:read"])
    boss = make_user("boss")
    role_services.user_roles_set(user=boss, assignments=[AssignmentSpec("auditor")])
    for response in (
        writer.post("/api/v1/users/boss/password/", {"password": "a brand new passphrase"}),
        writer.post("/api/v1/users/boss/disable/"),
        writer.patch("/api/v1/users/boss/", {"email": "evil@example.com"}),
    ):
        assert_problem(response, 403, "privilege-escalation")
    boss.refresh_from_db()
    assert boss.is_active and boss.email == "boss@example.com"
    assert writer.get("/api/v1/users/boss/").status_code == 200  # reading is fine
