"""/console/blocked-ips/: list, manual block, unblock behind a confirmation; all audited."""

from __future__ import annotations

import pytest

from abuse import services
from abuse.models import IpBlock
from audit.models import AuditEvent
from core.actors import SystemActor
from roles.access import SECURITY_READ
from tests.abuse.conftest import ATTACKER, attempt, spray
from tests.conftest import PASSWORD
from tests.console.conftest import ALL_CONSOLE, sign_in

pytestmark = pytest.mark.django_db


def test_an_automatic_block_is_listed(console, attacker, users):
    spray(attacker)
    page = console.get("/console/blocked-ips/").content.decode()
    assert f"<code>{ATTACKER}/32</code>" in page
    assert "4 failed attempts on 3 accounts within 60 s" in page
    assert 'href="/console/blocked-ips/' in console.get("/console/").content.decode()


def test_an_admin_lifts_a_block_after_confirming(console, attacker, users, admin):
    spray(attacker)
    block = IpBlock.objects.get()
    confirm = console.get(f"/console/blocked-ips/{block.pk}/unblock/")
    assert confirm.status_code == 200
    assert f"Unblock {ATTACKER}/32?" in confirm.content.decode()
    IpBlock.objects.get(pk=block.pk, lifted_at=None)  # a GET changes nothing
    response = console.post(f"/console/blocked-ips/{block.pk}/unblock/")
    assert response.status_code == 302
    block.refresh_from_db()
    assert block.lifted_by == admin.username and block.lifted_at is not None
    event = AuditEvent.objects.get(event="ip.unblocked")
    assert (event.actor, event.target) == (admin.username, f"{ATTACKER}/32")
    assert attempt(attacker, "alice", PASSWORD).status_code == 302  # served again
    assert "lifted by root" in console.get("/console/blocked-ips/").content.decode()


def test_lifting_starts_the_counts_afresh(console, attacker, users):
    spray(attacker)
    console.post(f"/console/blocked-ips/{IpBlock.objects.get().pk}/unblock/")
    attempt(attacker, "carol")
    assert IpBlock.objects.filter(lifted_at=None).count() == 0


def test_a_manual_block_with_a_duration(console):
    response = console.post(
        "/console/blocked-ips/new/",
        {"network": "192.0.2.0/24", "seconds": "3600", "reason": "scanner"},
    )
    assert response.status_code == 302
    block = IpBlock.objects.get()
    assert (block.network, block.created_by) == ("192.0.2.0/24", "root")
    assert 3590 <= (block.expires - block.created).total_seconds() <= 3600
    assert AuditEvent.objects.get(event="ip.blocked").actor == "root"
    again = console.post(
        "/console/blocked-ips/new/",
        {"network": "192.0.2.9", "seconds": "900", "reason": "inside"},
        follow=True,
    )
    assert "already blocked" in again.content.decode()
    assert IpBlock.objects.count() == 1


def test_bad_and_allow_listed_networks_are_refused_on_the_form(console, settings):
    settings.ABUSE_IP_ALLOWLIST = ["10.0.0.0/8"]
    bad = console.post(
        "/console/blocked-ips/new/", {"network": "10.0.0.1/8", "seconds": "900", "reason": "x"}
    )
    assert bad.status_code == 400
    assert "is not an IP address or network" in bad.content.decode()
    allowed = console.post(
        "/console/blocked-ips/new/", {"network": "10.1.2.3", "seconds": "900", "reason": "x"}
    )
    assert allowed.status_code == 400
    assert "is on the allow-list" in allowed.content.decode()
    assert not IpBlock.objects.exists()


def test_reading_needs_security_read_and_lifting_security_write(client, make_user, grant_roles):
    viewer = make_user("viewer")
    grant_roles(viewer, "console:access", SECURITY_READ)
    sign_in(client, viewer)
    block = services.ip_block(
        network=ATTACKER, seconds=300, reason="x", actor=SystemActor("root")
    ).block
    page = client.get("/console/blocked-ips/")
    assert page.status_code == 200
    assert "/unblock/" not in page.content.decode()
    assert client.get(f"/console/blocked-ips/{block.pk}/unblock/").status_code == 403
    assert client.post(f"/console/blocked-ips/{block.pk}/unblock/").status_code == 403
    block.refresh_from_db()
    assert block.lifted_at is None


def test_admins_with_every_console_permission_hold_the_security_ones():
    assert {"security:read", "security:write"} <= set(ALL_CONSOLE)
