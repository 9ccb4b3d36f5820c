"""Security posture checks in ``manage.py check --deploy``: each fires, and says how to fix it."""

import pytest
from django.core.checks import run_checks

from oauth.models import Client
from roles import services

pytestmark = pytest.mark.django_db


def findings(id_: str):
    return [m for m in run_checks(include_deployment_checks=True) if m.id == id_]


def test_a_clean_setup_has_no_posture_findings(shipped_argon2, make_client):
    services.role_create(name="admin", permissions=["* /api/**"], require_mfa=True)
    services.role_create(name="reader", permissions=["GET /api/orders/**"])
    make_client(
        client_id="web", grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"]
    )
    ours = [m for m in run_checks(include_deployment_checks=True) if m.id.startswith("authserver.")]
    assert ours == []


def test_admin_role_without_mfa():
    services.role_create(name="ops", permissions=["* /**"])
    (finding,) = findings("authserver.W001")
    assert "ops" in finding.msg and "require_mfa" in finding.hint


def test_wildcard_method_on_a_non_admin_role():
    services.role_create(name="helpdesk", permissions=["* /api/tickets/*"])
    (finding,) = findings("authserver.W002")
    assert "helpdesk" in finding.msg and finding.hint


def test_long_lived_access_tokens(make_client, settings):
    make_client(client_id="slow", access_token_lifetime=7200)
    assert [f.obj for f in findings("authserver.W004")] == ["slow"]
    settings.ACCESS_TOKEN_LIFETIME = 86400
    assert len(findings("authserver.W004")) == 2


def test_http_redirect_uri_off_loopback(make_client):
    client, _ = make_client(
        client_id="legacy",
        grant_types=["authorization_code"],
        redirect_uris=["https://a.example/cb"],
    )
    Client.objects.filter(pk=client.pk).update(redirect_uris="http://a.example/cb")  # a legacy row
    (finding,) = findings("authserver.W005")
    assert "http://a.example/cb" in finding.msg and "https" in finding.hint


def test_debug_on(settings):
    settings.DEBUG = True
    assert findings("authserver.W006")


def test_weak_argon2(settings):
    settings.ARGON2_MEMORY_KIB = 4096
    (finding,) = findings("authserver.W007")
    assert "19 MiB" in finding.hint


def test_api_key_without_expiry(make_client):
    from datetime import timedelta

    from django.utils import timezone

    from apikeys import services as key_services

    owner, _ = make_client(client_id="svc")
    key_services.api_key_create(name="forever", client=owner)
    key_services.api_key_create(
        name="month", client=owner, expires_at=timezone.now() + timedelta(days=30)
    )
    (finding,) = findings("authserver.W003")
    assert "forever" in finding.msg and "expir" in finding.hint


def test_outbound_fetches_opened_for_development(settings):
    assert not findings("authserver.W008") and not findings("authserver.W009")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_ALLOW_HTTP = True
    (networks,) = findings("authserver.W008")
    assert "127.0.0.0/8" in networks.msg and "SSRF" in networks.hint
    assert findings("authserver.W009")
