"""examples/operator.yaml: the operator's first apply file works, on top of the built-in roles."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from oauth.models import Client
from roles import access
from roles.models import UserRole

pytestmark = pytest.mark.usefixtures("builtin_roles")


def test_operator_example_applies_twice(settings):
    path = str(settings.BASE_DIR / "examples/operator.yaml")
    first, second = StringIO(), StringIO()
    call_command("apply", path, stdout=first)
    call_command("apply", path, stdout=second)
    assert "created API" in first.getvalue() and "created role wiki-admin" in first.getvalue()
    assert second.getvalue().strip() == "nothing to change"
    assert Client.objects.get(client_id="wiki").resources
    held = set(UserRole.objects.filter(user__username="wendy").values_list("role__name", flat=True))
    assert held == {"wiki-admin", "auditor"}
    assert "wiki:admin" in access.role_permissions(["wiki-admin"])
