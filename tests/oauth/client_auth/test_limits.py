"""Token endpoint: repeated failed client authentication -> 429 with Retry-After."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def machine(make_client):
    return make_client(client_id="machine", name="Machine", scopes=["openid"])


@pytest.fixture
def clock(clock):
    """The project's clock at a round time (window boundaries at multiples of 600 s)."""
    clock.set(1_800_000_000.0)
    return clock


def token(browser, secret: str, client_id: str = "machine", ip: str = "192.0.2.1"):
    return browser.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
        REMOTE_ADDR=ip,
    )


def test_repeated_bad_secrets_get_429_with_retry_after(client, machine, clock, settings):
    settings.TOKEN_AUTH_FAILURES_PER_CLIENT = 3
    _client, secret = machine
    for _ in range(2):
        assert token(client, "wrong").status_code == 401
    refused = token(client, "wrong")  # the failure that reaches the limit
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == settings.TOKEN_AUTH_BACKOFF_SECONDS
    assert refused.json()["error"] == "slow_down"
    assert refused["Cache-Control"] == "no-store"
    again = token(client, "wrong")  # each failure while blocked doubles the block
    assert again.status_code == 429
    assert int(again["Retry-After"]) == 2 * settings.TOKEN_AUTH_BACKOFF_SECONDS
    assert AuditEvent.objects.filter(event="token.client_auth", outcome="failure").count() == 4
    assert AuditEvent.objects.filter(event="token.throttled").count() == 2


def test_a_client_that_knows_its_secret_is_never_locked_out(client, machine, clock, settings):
    """Its client_id is public: wrong secrets sent by someone else must not deny it tokens."""
    settings.TOKEN_AUTH_FAILURES_PER_CLIENT = 3
    _client, secret = machine
    for _ in range(5):
        token(client, "wrong")
    assert token(client, "wrong").status_code == 429
    assert token(client, secret).status_code == 200


def test_per_ip_limit_covers_many_client_ids(client, machine, clock, settings):
    settings.TOKEN_AUTH_FAILURES_PER_IP = 4
    _client, secret = machine
    answers = [
        token(client, "wrong", client_id=f"guess{n}", ip="192.0.2.9").status_code for n in range(5)
    ]
    assert answers == [401, 401, 401, 429, 429]
    assert token(client, "wrong", client_id="guess9", ip="192.0.2.10").status_code == 401
    assert token(client, secret, ip="192.0.2.9").status_code == 200


def test_successes_and_other_errors_are_not_counted(client, machine, clock, settings):
    settings.TOKEN_AUTH_FAILURES_PER_CLIENT = 2
    _client, secret = machine
    for _ in range(3):
        assert token(client, secret).status_code == 200
        bad_grant = client.post(
            "/o/token/",
            {"grant_type": "authorization_code", "code": "nope", "redirect_uri": "x"},
            HTTP_AUTHORIZATION=basic_auth("machine", secret),
        )
        assert bad_grant.status_code == 400
    assert token(client, secret).status_code == 200
