"""Password spraying from one IP blocks that IP at sign-in, temporarily and audited."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches

from abuse import detection, services
from abuse.models import IpBlock
from abuse.tasks import block_ip_task
from audit.models import AuditEvent
from core.actors import SystemActor
from tests.abuse.conftest import ATTACKER, OTHER, attempt, spray
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_spraying_accounts_blocks_the_ip_even_for_a_right_password(client, users):
    spray(client)
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert 110 <= int(response["Retry-After"]) <= 120
    assert "sign-in from it is paused" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_the_same_user_from_another_ip_still_signs_in(client, users):
    spray(client)
    assert attempt(client, "alice", PASSWORD, ip=OTHER).status_code == 302
    assert SESSION_KEY in client.session


def test_the_block_is_audited_as_the_system_and_denials_too(client, users):
    spray(client)
    attempt(client, "alice", PASSWORD)
    attempt(client, "alice", PASSWORD)
    blocked = AuditEvent.objects.get(event="ip.blocked")
    assert (blocked.actor, blocked.target) == ("system", f"{ATTACKER}/32")
    assert blocked.data["reason"] == "4 failed attempts on 3 accounts within 60 s"
    denied = AuditEvent.objects.filter(event="ip.denied", outcome="denied")
    assert [(e.ip, e.data["where"]) for e in denied] == [(ATTACKER, "login")]  # once a minute
    block = IpBlock.objects.get()
    assert (block.network, block.created_by, block.lifted_at) == (f"{ATTACKER}/32", "auto", None)


def test_many_failures_on_one_account_do_not_block_the_ip(client, users):
    for _ in range(10):
        attempt(client, "bob")
    assert not IpBlock.objects.exists()
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_the_block_expires(client, users, clock, settings):
    spray(client)
    assert attempt(client, "alice", PASSWORD).status_code == 429
    clock.advance(settings.ABUSE_IP_BLOCK_SECONDS + 30)  # the spray itself took some seconds
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_allow_listed_ips_are_never_blocked(client, users, settings):
    settings.ABUSE_IP_ALLOWLIST = ["203.0.113.0/24"]
    spray(client, ("bob", "carol", "dave") * 3)
    assert not IpBlock.objects.exists()
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert services.ip_block_auto(ip=ATTACKER, failures=9, accounts=3) is None


def test_the_block_task_is_idempotent(db):
    first = block_ip_task.delay(ATTACKER, failures=4, accounts=3).get()
    second = block_ip_task.delay(ATTACKER, failures=9, accounts=5).get()
    assert first == second
    block = IpBlock.objects.get()
    assert AuditEvent.objects.filter(event="ip.blocked").count() == 1
    assert block.reason == "4 failed attempts on 3 accounts within 60 s"  # not extended


def test_an_address_inside_a_blocked_network_is_not_blocked_again(db):
    services.ip_block(
        network="203.0.113.0/24", seconds=600, reason="range", actor=SystemActor("root")
    )
    assert not services.ip_block_auto(ip=ATTACKER, failures=4, accounts=3).created
    assert IpBlock.objects.count() == 1


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(client, users):
    """The test client has no proxy in front: a spoofed X-Forwarded-For changes nothing."""
    for username in ("bob", "carol", "dave", "bob"):
        client.post(
            "/accounts/login/",
            {"username": username, "password": "wrong"},
            REMOTE_ADDR=OTHER,
            HTTP_X_FORWARDED_FOR=ATTACKER,
        )
    assert IpBlock.objects.get().network == f"{OTHER}/32"


def test_failure_counts_live_in_the_shared_cache(db, settings):
    """Another connection to the cache (another process, with Redis) sees the same counts."""
    for account in ("a", "b"):
        assert detection.record_failure(ATTACKER, account) is None
    other = caches.create_connection("default")
    prefix = detection._prefix(ATTACKER)
    assert other.get(f"{prefix}:failures") == 2
    assert other.get(f"{prefix}:accounts") == 2
    other.incr(f"{prefix}:failures")  # a failure counted elsewhere
    assert detection.record_failure(ATTACKER, "c") == detection.Tally(failures=4, accounts=3)
    assert detection.record_failure(ATTACKER, "d") is None  # reported once per window


def test_a_lost_block_task_is_queued_again_while_the_failures_go_on(
    client, users, settings, monkeypatch
):
    """The first block task is accepted by the broker and lost (its worker killed): further
    failures from the IP queue it again after ABUSE_IP_REQUEUE_SECONDS, not a window later."""
    settings.ABUSE_IP_REQUEUE_SECONDS = 1
    queue = block_ip_task.delay
    lost: list[tuple] = []
    monkeypatch.setattr(block_ip_task, "delay", lambda *a, **kw: lost.append(a) or None)
    spray(client)
    monkeypatch.setattr(block_ip_task, "delay", queue)
    attempt(client, "carol")  # within the second: the report stands, nothing is queued
    assert (lost, IpBlock.objects.count()) == ([(ATTACKER,)], 0)
    time.sleep(1.1)
    attempt(client, "carol")
    assert attempt(client, "alice", PASSWORD).status_code == 429
    assert IpBlock.objects.get().reason == "6 failed attempts on 3 accounts within 60 s"
