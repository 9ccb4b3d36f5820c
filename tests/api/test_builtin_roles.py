"""Built-in roles and ``roles:define`` through the management API."""

from __future__ import annotations

import pytest

from roles.models import Role
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.usefixtures("builtin_roles")


def test_api_roles_define_and_builtin_deletion(caller):
    definer = caller("roles:read", "roles:write", "roles:define", name="definer")
    created = definer.post("/api/v1/roles/", {"name": "wiki-admin", "permissions": ["wiki:admin"]})
    assert created.status_code == 201, created.content
    refused = assert_problem(definer.delete("/api/v1/roles/superadmin/"), 400, "validation-error")
    assert "built in" in refused["detail"] + str(refused.get("errors"))
    assert Role.objects.filter(name="superadmin", builtin=True).exists()
    plain = caller("roles:read", "roles:write", name="plain")
    denied = plain.post("/api/v1/roles/", {"name": "crm", "permissions": ["crm:admin"]})
    assert "crm:admin" in assert_problem(denied, 403, "privilege-escalation")["detail"]
