"""The deployment's own posture in ``manage.py check --deploy`` (core.checks): each fires, and
says how to fix it; a clean setup (every app's checks) reports nothing."""

import pytest
from django.core.checks import run_checks

from core.actors import APPLY
from roles import services
from tests.checks import findings

pytestmark = pytest.mark.django_db


def test_a_clean_setup_has_no_posture_findings(shipped_argon2, make_client):
    services.role_create(actor=APPLY, name="admin", permissions=["* /api/**"], require_mfa=True)
    services.role_create(actor=APPLY, name="reader", permissions=["GET /api/orders/**"])
    make_client(
        client_id="web", grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"]
    )
    ours = [m for m in run_checks(include_deployment_checks=True) if m.id.startswith("authserver.")]
    assert ours == []


def test_debug_on(settings):
    settings.DEBUG = True
    assert findings("authserver.W006")


def test_weak_argon2(settings):
    settings.ARGON2_MEMORY_KIB = 4096
    (finding,) = findings("authserver.W007")
    assert "19 MiB" in finding.hint


def test_outbound_fetches_opened_for_development(settings):
    assert not findings("authserver.W008") and not findings("authserver.W009")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_ALLOW_HTTP = True
    (networks,) = findings("authserver.W008")
    assert "127.0.0.0/8" in networks.msg and "SSRF" in networks.hint
    assert findings("authserver.W009")
