"""Health probes and error answers, as an orchestrator or a client sees them."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client as Browser

from authserver import ops

pytestmark = pytest.mark.django_db


def test_live_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_each_dependency(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "signing_key": "ok"},
    }


def test_ready_names_the_failing_dependency(client):
    def down() -> str:
        raise OperationalError("connection refused")

    with mock.patch.dict(ops.CHECKS, {"database": down}):
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response["Retry-After"] == str(ops.RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"] == {"database": "fail", "cache": "ok", "signing_key": "skipped"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/o/token/"),
        ("post", "/o/introspect/"),
        ("post", "/accounts/login/"),
        ("get", "/o/jwks/"),
    ],
)
def test_database_outage_answers_503_with_retry_after(method, path, resource_server):
    """Every endpoint, browser page or machine endpoint: a JSON 503, never a 500 traceback."""
    browser = Browser(raise_request_exception=False)
    client, secret = resource_server
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": secret,
        "token": "x",
        "username": "alice",
        "password": "wrong",
    }
    boom = OperationalError("could not connect to server: Connection refused")
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection") as ec:
        ec.side_effect = boom
        response = getattr(browser, method)(path, form if method == "post" else {})
    assert response.status_code == 503
    assert response["Retry-After"] == str(ops.RETRY_AFTER_SECONDS)
    assert response.json()["error"] == "temporarily_unavailable"
    assert "Traceback" not in response.content.decode()


def test_unexpected_errors_are_a_json_500_without_details(rf):
    response = ops.server_error(rf.get("/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b"Traceback" not in response.content


def test_a_database_error_mapped_to_503_is_logged_once_without_a_traceback(resource_server, caplog):
    client, secret = resource_server
    boom = OperationalError("database is locked")
    with mock.patch("oauth.endpoints.introspection.authenticate_client", side_effect=boom):
        response = Browser().post("/o/introspect/", {"token": "x"})
    assert response.status_code == 503
    records = [r for r in caplog.records if "database is locked" in r.getMessage()]
    assert len(records) == 1
    assert records[0].levelname == "ERROR" and records[0].exc_info is None
    assert "OperationalError" in records[0].getMessage()
