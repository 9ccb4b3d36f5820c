"""The token endpoint and the second-factor step refuse a blocked IP; client authentication
failures across clients feed the same detection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from abuse import services
from abuse.models import IpBlock
from abuse.tasks import block_ip_task, purge_ip_blocks_task
from audit.models import AuditEvent
from core.actors import SystemActor
from mfa import services as mfa_services
from tests.abuse.conftest import ATTACKER, OTHER
from tests.conftest import basic_auth
from tests.mfa.conftest import code_now, password_step

pytestmark = pytest.mark.django_db


def token(http, client_id: str, secret: str, ip: str = ATTACKER):
    return http.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
        REMOTE_ADDR=ip,
    )


def test_a_blocked_ip_gets_slow_down_at_the_token_endpoint(client, make_client):
    app, secret = make_client(client_id="svc")
    services.ip_block(network=ATTACKER, seconds=300, reason="test", actor=SystemActor("root"))
    response = token(client, "svc", secret)
    assert response.status_code == 429
    assert response.json()["error"] == "slow_down"
    assert 290 <= int(response["Retry-After"]) <= 300
    assert response["Cache-Control"] == "no-store"
    assert token(client, "svc", secret, ip=OTHER).status_code == 200
    event = AuditEvent.objects.get(event="ip.denied")
    assert event.data["where"] == "token"


def test_client_authentication_failures_across_clients_block_the_ip(client, make_client):
    for client_id in ("a", "b", "c"):
        make_client(client_id=client_id)
    _, secret = make_client(client_id="good")
    for client_id in ("a", "b", "c", "a"):
        assert token(client, client_id, "wrong").status_code == 401
    assert IpBlock.objects.get().network == f"{ATTACKER}/32"
    assert token(client, "good", secret).status_code == 429


def test_a_blocked_ip_is_refused_at_the_second_factor(client, make_user, clock):
    user = make_user("alice")
    secret = mfa_services.authenticator_totp_provision(user=user)
    assert password_step(client).status_code == 302  # from the test client's 127.0.0.1
    services.ip_block(network="127.0.0.1", seconds=300, reason="test", actor=SystemActor("root"))
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-ins came from your network" in response.content.decode()


def test_the_block_task_is_retried_while_the_database_fails(monkeypatch, db):
    real = services.ip_block_auto
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise DatabaseError("connection lost")
        return real(**kwargs)

    monkeypatch.setattr(services, "ip_block_auto", flaky)
    assert block_ip_task.acks_late and block_ip_task.retry_backoff
    kwargs = {"failures": 4, "accounts": 3}
    result = block_ip_task.apply(args=[ATTACKER], kwargs=kwargs, throw=False)  # retries inline
    block_id = result.get()
    assert len(calls) == 2
    assert IpBlock.objects.get().pk == block_id


def test_the_purge_removes_blocks_that_ended_long_ago(db, settings):
    now = timezone.now()
    old = now - timedelta(days=settings.ABUSE_IP_HISTORY_DAYS + 1)
    for network, expires in (("192.0.2.1", old), ("192.0.2.2", now - timedelta(hours=1))):
        IpBlock.objects.create(
            network=f"{network}/32", reason="x", created=expires, expires=expires, created_by="auto"
        )
    services.ip_block(network="192.0.2.3", seconds=300, reason="active", actor=None)
    assert purge_ip_blocks_task.delay().get() == 1
    assert sorted(IpBlock.objects.values_list("network", flat=True)) == [
        "192.0.2.2/32",
        "192.0.2.3/32",
    ]
    assert "purge-ip-blocks" in settings.CELERY_BEAT_SCHEDULE
