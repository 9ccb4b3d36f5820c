"""Production configuration as an operator meets it: deploy checks, proxies, TLS 1.3."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings

from core.proxy import TrustedProxies, parse_networks
from tests.ops.servers import ROOT, AppServer, manage, production_env, wait_for


@pytest.mark.live
def test_deploy_checks_are_clean_in_production(prod_stack):
    """Against the migrated production database, so checks that read it run too."""
    env = {
        **prod_stack["env"],
        "ISSUER_URL": "https://auth.example.com",
        "ALLOWED_HOSTS": "auth.example.com",
        "SECRET_KEY": "a-production-grade-secret-key-" + "k" * 40,
    }
    out = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in out


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = production_env("postgres://db.internal/authserver", "", ROOT / "var")
    del env["SECRET_KEY"]
    with pytest.raises(subprocess.CalledProcessError) as failure:
        manage(env, "check")
    assert "SECRET_KEY is required" in failure.value.stderr


@pytest.mark.django_db  # the page reads the brand
def test_embedded_mode_is_not_redirected_to_https(client):
    assert settings.SECURE_SSL_REDIRECT is False
    assert client.get("/accounts/login/").status_code == 200


def _seen_by_app(proxies: list[str], remote: str, **headers: str) -> dict:
    seen: dict = {}

    def app(environ: dict, start_response) -> list[bytes]:  # noqa: ANN001
        seen.update(environ)
        return []

    environ = {"REMOTE_ADDR": remote, "wsgi.url_scheme": "http", **headers}
    TrustedProxies(app, parse_networks(proxies))(environ, lambda *a: None)
    return seen


def test_forwarded_headers_from_an_untrusted_peer_are_dropped():
    seen = _seen_by_app(
        ["10.0.0.0/8"],
        "203.0.113.9",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in seen and "HTTP_X_FORWARDED_PROTO" not in seen


def test_a_trusted_proxy_names_the_client_and_the_scheme():
    seen = _seen_by_app(
        ["10.0.0.0/8"],
        "10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.1",
        HTTP_X_FORWARDED_PROTO="https",
    )
    # The rightmost untrusted hop is the client; anything left of it was client-supplied.
    assert seen["REMOTE_ADDR"] == "198.51.100.7"
    assert seen["wsgi.url_scheme"] == "https"


def test_no_trusted_proxies_means_no_forwarded_headers():
    seen = _seen_by_app([], "127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert seen["REMOTE_ADDR"] == "127.0.0.1"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[AppServer, Path]]:
    subprocess.run(
        ["sh", str(ROOT / "scripts/dev-cert.sh"), str(tmp_path / "tls")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = production_env("", "", tmp_path / "var")  # embedded mode: nothing but Python
    server = AppServer(
        env,
        tmp_path,
        TLS_CERTFILE=str(tmp_path / "tls/localhost.pem"),
        TLS_KEYFILE=str(tmp_path / "tls/localhost.key"),
        GUNICORN_ACCESS_LOG="-",
    )
    server.start_tls(tmp_path / "tls/ca.pem")
    yield server, tmp_path / "tls/ca.pem"
    server.stop()


def _handshake(port: int, ca: Path, version: ssl.TLSVersion) -> str:
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.version() or ""


@pytest.mark.live
def test_tls_1_3_only(tls_server):
    server, ca = tls_server
    with pytest.raises(ssl.SSLError):
        _handshake(server.port, ca, ssl.TLSVersion.TLSv1_2)
    assert _handshake(server.port, ca, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    response = requests.get(
        f"https://localhost:{server.port}/health/live",
        verify=str(ca),
        headers={"X-Request-ID": "tls-probe-1"},
        timeout=10,
    )
    assert response.status_code == 200
    wait_for(lambda: "tls-probe-1" in server.log(), "access log line", timeout=10)
    line = next(x for x in server.log().splitlines() if "tls-probe-1" in x)
    entry = json.loads(line)
    assert entry["path"] == "/health/live" and entry["status"] == 200
    assert entry["logger"] == "gunicorn.access"


@pytest.mark.django_db
def test_with_https_required_token_endpoints_refuse_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    refused = client.post("/o/token/", {"grant_type": "client_credentials"})
    assert refused.status_code == 403 and "Location" not in refused
    assert refused.json()["error"] == "invalid_request"
    assert client.get("/health/live").status_code == 200  # probes stay plain-http
    assert client.get("/accounts/login/").status_code == 301  # pages are redirected
    over_tls = client.post("/o/token/", {"grant_type": "client_credentials"}, secure=True)
    assert over_tls.status_code == 401  # reaches the endpoint (no client credentials given)


def test_a_sqlite_database_url_gets_the_embedded_engine(tmp_path):
    """``DATABASE_URL=sqlite:///...`` is tuned like the default (writer lock, WAL, IMMEDIATE
    transactions), not Django's stock backend."""
    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", "", tmp_path)
    probe = (
        "from django.db import connections\n"
        "connection = connections['default']\n"
        "cursor = connection.cursor()\n"
        "print(type(connection).__module__, connection.transaction_mode,"
        " cursor.execute('PRAGMA journal_mode').fetchone()[0])"
    )
    assert manage(env, "shell", "--no-imports", "-c", probe).split() == [
        "authserver.sqlite.base",
        "IMMEDIATE",
        "wal",
    ]
