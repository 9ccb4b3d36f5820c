"""Prometheus metrics as a scraper sees them: protected, and counting what operators alert on."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from oauth.tasks import clear_expired_tokens_task
from tests.conftest import basic_auth, login
from tests.flows import authorize, exchange

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_loopback_scrapes_without_a_token_when_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"authserver_token_requests_total" in response.content
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401


def test_a_configured_scrape_token_is_required(client, settings):
    settings.METRICS_TOKEN = "scrape-me-please"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-please")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")


def test_token_issuance_is_counted_by_grant_client_and_outcome(client, resource_server):
    rs, secret = resource_server
    issued = {"grant_type": "client_credentials", "client": "rs1", "outcome": "issued"}
    bad_secret = {**issued, "outcome": "invalid_client"}
    unknown = {**issued, "client": "unknown", "outcome": "invalid_client"}
    before = [sample("authserver_token_requests_total", **x) for x in (issued, bad_secret, unknown)]

    form = {"grant_type": "client_credentials"}
    client.post("/o/token/", form, HTTP_AUTHORIZATION=basic_auth("rs1", secret))
    client.post("/o/token/", form, HTTP_AUTHORIZATION=basic_auth("rs1", "nope"))
    client.post("/o/token/", form, HTTP_AUTHORIZATION=basic_auth("who-\r\nknows", "x"))

    after = [sample("authserver_token_requests_total", **x) for x in (issued, bad_secret, unknown)]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


def test_introspection_latency_login_failures_and_reuse_are_recorded(
    client, make_user, web_client, resource_server
):
    make_user("alice")
    web, web_secret = web_client
    rs, rs_secret = resource_server
    introspections = sample("authserver_introspection_seconds_count")
    failures = sample("authserver_login_failures_total")
    reuse = sample("authserver_refresh_token_reuse_total")

    login(client, "alice", "not the password")
    login(client, "alice")
    code, verifier = authorize(client, web.client_id)
    tokens = exchange(client, web.client_id, web_secret, code, verifier).json()
    client.post("/o/introspect/", {"token": "x"}, HTTP_AUTHORIZATION=basic_auth("rs1", rs_secret))
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = basic_auth(web.client_id, web_secret)
    assert client.post("/o/token/", refresh, HTTP_AUTHORIZATION=auth).status_code == 200
    assert client.post("/o/token/", refresh, HTTP_AUTHORIZATION=auth).status_code == 400

    assert sample("authserver_introspection_seconds_count") == introspections + 1
    assert sample("authserver_login_failures_total") == failures + 1
    assert sample("authserver_refresh_token_reuse_total") == reuse + 1


def test_celery_task_outcomes_are_counted():
    labels = {"task": "oauth.tasks.clear_expired_tokens_task", "outcome": "success"}
    before = sample("authserver_celery_tasks_total", **labels)
    clear_expired_tokens_task.delay().get()
    assert sample("authserver_celery_tasks_total", **labels) == before + 1


def test_mfa_failures_and_locks_are_counted(make_user, settings):
    from mfa import services as mfa_services

    settings.MFA_MAX_ATTEMPTS = 2
    user = make_user("alice")
    failures = sample("authserver_mfa_failures_total")
    locks = sample("authserver_lockouts_total", kind="mfa")
    mfa_services.lockout_record_failure(user=user)
    mfa_services.lockout_record_failure(user=user)
    assert sample("authserver_mfa_failures_total") == failures + 2
    assert sample("authserver_lockouts_total", kind="mfa") == locks + 1
