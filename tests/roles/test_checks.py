"""The roles' posture in ``manage.py check --deploy`` (roles.checks): each fires, and says how
to fix it."""

import pytest

from core.actors import APPLY
from roles import services
from tests.checks import findings

pytestmark = pytest.mark.django_db


def test_admin_role_without_mfa():
    services.role_create(actor=APPLY, name="ops", permissions=["* /**"])
    (finding,) = findings("authserver.W001")
    assert "ops" in finding.msg and "require_mfa" in finding.hint


def test_wildcard_method_on_a_non_admin_role():
    services.role_create(actor=APPLY, name="helpdesk", permissions=["* /api/tickets/*"])
    (finding,) = findings("authserver.W002")
    assert "helpdesk" in finding.msg and finding.hint
