"""Request ids and JSON logs: what an operator reads, and what must never be in it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from core.logs import JsonFormatter, RequestIdFilter
from tests.conftest import PASSWORD, basic_auth, login
from tests.flows import authorize, exchange

pytestmark = pytest.mark.django_db


class Capture(logging.Handler):
    """Every line the configured loggers emit, formatted exactly as in production."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.lines
    root.removeHandler(handler)


def test_a_sane_request_id_is_echoed_and_logged(client, log_lines):
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-7f3a.42"
    entries = [json.loads(line) for line in log_lines]
    assert entries and all(e["request_id"] == "lb-7f3a.42" for e in entries)


@pytest.mark.parametrize("supplied", ["", "x" * 65, "id with spaces", "id\r\nforged: 1", "ü"])
def test_an_unusable_request_id_is_replaced(client, supplied):
    response = client.get("/health/live", HTTP_X_REQUEST_ID=supplied)
    generated = response["X-Request-ID"]
    assert generated != supplied and len(generated) == 32 and generated.isalnum()


def test_machine_endpoints_get_request_ids_too(client):
    assert len(client.get("/o/jwks/")["X-Request-ID"]) == 32


def test_a_username_with_newlines_stays_on_one_escaped_line(client, log_lines):
    forged = "alice\r\n2026-01-01 INFO admin login ok"
    logging.getLogger("authserver.test").warning("login failed for %s", forged)
    assert len(log_lines) == 1 and "\n" not in log_lines[0] and "\r" not in log_lines[0]
    assert json.loads(log_lines[0])["message"] == f"login failed for {forged}"


def test_a_full_flow_logs_no_secret(client, make_user, web_client, resource_server, log_lines):
    """Login, authorize with PKCE, code exchange, refresh, introspection, revocation, client
    credentials, plus failures: no log line contains a password, secret, code or token."""
    make_user("alice")
    web, web_secret = web_client
    rs, rs_secret = resource_server
    secrets_seen = {PASSWORD, web_secret, rs_secret, "wrong password!"}

    assert login(client, "alice", "wrong password!").status_code == 200  # failed attempt
    assert login(client, "alice").status_code == 302
    code, verifier = authorize(client, web.client_id)
    secrets_seen |= {code, verifier}
    auth = basic_auth(web.client_id, web_secret)
    tokens = exchange(client, web.client_id, web_secret, code, verifier).json()
    secrets_seen |= {tokens["access_token"], tokens["refresh_token"], tokens["id_token"]}
    refreshed = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=auth,
    ).json()
    secrets_seen |= {refreshed["access_token"], refreshed["refresh_token"]}
    rs_auth = basic_auth(rs.client_id, rs_secret)
    introspected = client.post(
        "/o/introspect/", {"token": refreshed["access_token"]}, HTTP_AUTHORIZATION=rs_auth
    )
    assert introspected.json()["active"] is True
    bad_caller = client.post(
        "/o/introspect/",
        {"token": refreshed["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, "not-" + rs_secret),
    )
    assert bad_caller.status_code == 401
    revoked = client.post(
        "/o/revoke_token/", {"token": refreshed["refresh_token"]}, HTTP_AUTHORIZATION=auth
    )
    assert revoked.status_code == 200
    machine = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=rs_auth
    ).json()
    secrets_seen.add(machine["access_token"])
    assert exchange(client, web.client_id, web_secret, code, verifier).status_code == 400

    assert log_lines, "the flow should have logged something (failed login, 4xx answers)"
    for line in log_lines:
        json.loads(line)  # every line is one JSON object
        leaked = [s for s in secrets_seen if s in line]
        assert not leaked, f"secret material in log line: {line}"
