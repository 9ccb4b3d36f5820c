"""The README's ``manage.py apply`` example is a file that applies, and applies again as no
change (an operator copies it first)."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.models import User
from roles import access
from tests.configfiles import apply

pytestmark = pytest.mark.usefixtures("builtin_roles")  # the example names ``auditor``


def readme_example() -> str:
    text = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Declarative configuration (`manage.py apply`)") :]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_applies_then_changes_nothing(tmp_path):
    first, _ = apply(tmp_path, readme_example())
    assert "created role editor" in first and "enrolled TOTP for user alice" in first
    assert access.role_permissions(["editor"]) >= {"orders:read", "orders:write"}
    assert User.objects.get(username="alice").mfa_required
    again, _ = apply(tmp_path, readme_example())
    assert again.strip() == "nothing to change"
