"""Built-in roles (not deletable, permissions editable) and ``roles:define`` in the console
(the management API's side: tests/api/test_builtin_roles.py); everyone else keeps the hierarchy
guard."""

from __future__ import annotations

import pytest

from core.actors import APPLY
from roles import services as role_services
from roles.models import Role, UserRole
from roles.services import AssignmentSpec
from tests.console.conftest import ALL_CONSOLE, sign_in, text

pytestmark = pytest.mark.usefixtures("builtin_roles")


@pytest.fixture
def superadmin(client, make_user):
    """A console session of a user holding the built-in ``superadmin``."""
    user = make_user("boss")
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("superadmin")])
    return sign_in(client, user)


def test_superadmin_defines_a_role_with_a_new_permission_and_assigns_it(superadmin, make_user):
    response = superadmin.post(
        "/console/roles/new/", {"name": "wiki-admin", "permissions": "wiki:admin"}
    )
    assert response.status_code == 302, text(response)
    role = Role.objects.get(name="wiki-admin")
    assert list(role.permissions.values_list("value", flat=True)) == ["wiki:admin"]
    editor = make_user("eve")
    assigned = superadmin.post(f"/console/users/{editor.pk}/roles/", {"roles": ["wiki-admin"]})
    assert assigned.status_code == 302
    assert UserRole.objects.filter(user=editor, role=role).exists()


def test_without_roles_define_the_old_rule_and_message_stand(client, make_user):
    role_services.role_create(actor=APPLY, name="ops", permissions=ALL_CONSOLE)
    user = make_user("ops-user")
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("ops")])
    console = sign_in(client, user)
    response = console.post("/console/roles/new/", {"name": "wiki", "permissions": "wiki:admin"})
    assert "carries permissions you do not hold yourself: wiki:admin" in text(response)
    assert not Role.objects.filter(name="wiki").exists()


def test_builtin_roles_are_shown_as_such_and_cannot_be_deleted_in_the_console(superadmin):
    role = Role.objects.get(name="auditor")
    listing = superadmin.get("/console/roles/")
    assert "built-in" in text(listing)
    detail = superadmin.get(f"/console/roles/{role.pk}/")
    assert "built-in" in text(detail) and f"/console/roles/{role.pk}/delete/" not in text(detail)
    refused = superadmin.post(f"/console/roles/{role.pk}/delete/")
    assert refused.status_code == 400 and "cannot be deleted" in text(refused)
    assert Role.objects.filter(name="auditor").exists()
    edited = superadmin.post(
        f"/console/roles/{role.pk}/edit/",
        {"description": "Read-only", "permissions": "console:access\naudit:read"},
    )
    assert edited.status_code == 302, text(edited)
    assert set(role.permissions.values_list("value", flat=True)) == {"console:access", "audit:read"}
