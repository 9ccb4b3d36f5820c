"""The first administrator: the one-time link, its page, the command, the built-in roles."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from roles import access
from roles.models import Role, UserRole
from setup import services
from setup.models import SetupToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("builtin_roles")
ADMIN = {"username": "root", "email": "root@example.com", "password": PASSWORD}


def link_path(url: str) -> str:
    assert url.startswith("http://localhost:") or url.startswith("http://testserver")
    return "/setup/" + url.rsplit("/setup/", 1)[1]


def announce() -> list[str]:
    out = io.StringIO()
    call_command("bootstrap_admin", "--announce", stdout=out)
    return out.getvalue().splitlines()


def test_announce_prints_urls_then_the_link_last_while_no_administrator(db):
    lines = announce()
    assert lines[0].endswith("/console/") and "openid-configuration" in lines[1]
    assert lines[2].endswith("/api/v1/docs/")
    assert re.fullmatch(r"http://\S+/setup/[A-Za-z0-9_-]{43}", lines[-1])
    token = lines[-1].rsplit("/", 1)[1]
    stored = SetupToken.objects.get()
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert not AuditEvent.objects.filter(data__icontains=token).exists()
    services.create_administrator(**ADMIN)
    assert not any("/setup/" in line for line in announce())


def test_a_fresh_link_invalidates_the_older_one(client):
    old = link_path(services.issue_link())
    new = link_path(services.issue_link())
    assert client.get(old).status_code == 404
    response = client.get(new)
    assert response.status_code == 200 and b'name="password"' in response.content


def test_setup_flow_creates_the_administrator_enrols_totp_and_lands_on_the_dashboard(client):
    path = link_path(services.issue_link())
    response = client.post(path, ADMIN)
    assert response.status_code == 302 and response["Location"].startswith("/mfa/totp/setup/")
    page = client.get(response["Location"])
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.content.decode()).group(1)
    done = client.post("/mfa/totp/setup/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    codes = client.get(done["Location"], follow=True)
    assert codes.status_code == 200
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200 and b"Dashboard" in dashboard.content
    user = UserRole.objects.get(role__name="superadmin").user
    assert user.username == "root" and user.email == "root@example.com"
    assert user.password.startswith("argon2$argon2id$")
    event = AuditEvent.objects.get(event="setup.admin_created")
    assert event.target == "root" and event.ip
    enrol = AuditEvent.objects.get(event="mfa.enrol")
    assert enrol.ip and enrol.request_id
    again = client.get(path)
    assert again.status_code == 410 and b"was used" in again.content
    assert b'name="password"' not in again.content


def test_weak_password_and_bad_email_are_reported_and_nothing_is_written(client):
    path = link_path(services.issue_link())
    response = client.post(path, {**ADMIN, "email": "nope", "password": "123"})
    assert response.status_code == 400
    assert b"valid email" in response.content and b"too short" in response.content
    assert b'value="root"' in response.content and b"123" not in response.content
    assert not UserRole.objects.exists() and services.link_state(path.split("/")[-1]) == "valid"


def test_expired_and_unknown_links_say_so_without_a_form(client):
    path = link_path(services.issue_link())
    SetupToken.objects.update(created_at=timezone.now() - timedelta(hours=25))
    expired = client.get(path)
    assert expired.status_code == 410 and b"expired" in expired.content
    assert b"<form" not in expired.content.split(b"<main")[1]
    assert client.post(path, ADMIN).status_code == 410
    assert not UserRole.objects.exists()
    unknown = client.get("/setup/not-a-token")
    assert unknown.status_code == 404 and b"not valid" in unknown.content


def test_setup_is_throttled(client, settings):
    settings.SETUP_RATE_LIMIT = 3
    statuses = [client.get("/setup/guess").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_command_creates_an_administrator_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    out = io.StringIO()
    call_command("bootstrap_admin", "--username", "ops", "--email", "ops@example.com", stdout=out)
    assert "Created administrator 'ops'" in out.getvalue()
    assert services.administrator_exists()
    event = AuditEvent.objects.get(event="setup.admin_created")
    assert event.actor == "manage.py" and event.target == "ops"


def test_command_refuses_a_weak_password_or_missing_email(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("bootstrap_admin", "--username", "ops", "--email", "ops@example.com")
    with pytest.raises(CommandError, match="go together"):
        call_command("bootstrap_admin", "--username", "ops")
    assert not services.administrator_exists()


def test_builtin_roles_exist_and_superadmin_holds_everything(db):
    assert set(Role.objects.filter(builtin=True).values_list("name", flat=True)) == {
        "superadmin",
        "console-admin",
        "auditor",
        "security-admin",
    }
    held = access.role_permissions(["superadmin"])
    assert {*access.MANAGEMENT_PERMISSIONS, "console:access", access.ROLES_DEFINE} <= held
    assert access.ROLES_DEFINE not in access.role_permissions(["console-admin"])
    auditor = access.role_permissions(["auditor"])
    assert "audit:read" in auditor and not any(p.endswith(":write") for p in auditor)


def test_a_rejected_form_does_not_log_the_live_token(client, caplog):
    path = link_path(services.issue_link())
    with caplog.at_level("WARNING", logger="django.request"):
        response = client.post(path, {**ADMIN, "password": "123"})
    assert response.status_code == 400
    assert path.split("/")[-1] not in caplog.text
