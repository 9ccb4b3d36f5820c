"""Encrypted to its backends: a private PostgreSQL with ``ssl=on`` (plaintext TCP rejected) and
a private Redis listening for TLS only, with certificates made here; the app migrates, checks
and serves over ``sslmode=verify-full`` and ``rediss://``, refuses a server its CA did not sign,
and ``check --deploy`` flags a plaintext or unverified backend off loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import requests

from core.checks import database_tls, redis_tls
from tests.ops.conftest import postgres_server, redis_server
from tests.ops.live import client_credentials
from tests.ops.servers import (
    ROOT,
    VENV_BIN,
    AppServer,
    PostgresServer,
    RedisServer,
    TlsFiles,
    manage,
    production_env,
    python_in,
    seed,
    wait_for,
)
from tests.outbound import make_tls_files

MACHINE = {
    "client_id": "machine",
    "name": "Machine",
    "type": "confidential",
    "grant_types": ["client_credentials"],
}
BLOCKED_IP = "203.0.113.77"
# Publishes one task to the broker (no retries: a refused handshake must fail, not wait).
PUBLISH = """
import json
from abuse.tasks import block_ip_task
block_ip_task.apply_async(args=[{ip!r}], retry=False)
print(json.dumps("sent"))
"""
CACHE_PROBE = """
import json
from django.core.cache import cache
from core.failsoft_cache import cache_is_degraded
cache.set("tls-probe", 1)
print(json.dumps(cache_is_degraded(cache)))
"""


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def wrong_ca(tmp_path_factory) -> Path:
    """A CA that signed nothing these servers present."""
    return make_tls_files(tmp_path_factory.mktemp("other-ca"))[0]


@pytest.fixture(scope="module")
def tls_postgres(tls_files) -> Iterator[PostgresServer]:
    yield from postgres_server(tls_files)


@pytest.fixture(scope="module")
def tls_redis(tls_files, tmp_path_factory) -> Iterator[RedisServer]:
    try:
        yield from redis_server(tmp_path_factory.mktemp("redis-tls"), tls_files)
    except RuntimeError as exc:  # raised by start() before the first yield
        pytest.skip(f"this redis-server does not serve TLS ({exc})")


@pytest.fixture(scope="module")
def tls_env(tls_postgres, tls_redis, tmp_path_factory) -> dict:
    env = production_env(tls_postgres.url, tls_redis.url, tmp_path_factory.mktemp("var"))
    manage(env, "migrate", "--noinput")
    return env


def _ssl_backends(postgres: PostgresServer, ca: Path) -> list[bool]:
    """For every client connection to database ``authserver``: whether it is encrypted."""
    with psycopg.connect(postgres.tls_url(ca), connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
            " WHERE a.datname = 'authserver' AND a.pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.live
def test_migrates_checks_and_serves_over_verified_tls(tls_env, tls_postgres, tls_redis, tmp_path):
    ca = tls_redis.tls[0]
    assert "no issues" in manage(tls_env, "check", "--database", "default")
    secrets = seed(tls_env, "not-used-here-1234", [MACHINE])
    server = AppServer(tls_env, tmp_path)
    server.start()
    try:
        ready = requests.get(f"{server.base}/health/ready", timeout=10)
        token = client_credentials(server.base, "machine", secrets["machine"])
        encrypted = _ssl_backends(tls_postgres, ca)
    finally:
        server.stop()
    # Redis answered over TLS (a fail-soft local cache would read "degraded").
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "cache": "ok", "signing_key": "ok"}
    assert token.status_code == 200 and token.json()["access_token"]
    # The worker's persistent database connection is there, and encrypted.
    assert encrypted and all(encrypted)
    stored = redis.Redis.from_url(tls_redis.url, socket_timeout=5).keys("authserver:*")
    assert b"authserver:1:health:probe" in stored


@pytest.mark.live
def test_plaintext_to_the_tls_servers_is_refused(tls_postgres, tls_redis):
    """What makes the test above meaningful: neither server speaks plaintext."""
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(
            f"postgres://postgres@127.0.0.1:{tls_postgres.port}/authserver?sslmode=disable",
            connect_timeout=5,
        )
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=tls_redis.port, socket_timeout=2).ping()


@pytest.mark.live
def test_a_database_certificate_from_another_ca_is_refused(tls_env, tls_postgres, wrong_ca):
    env = {**tls_env, "DATABASE_URL": tls_postgres.tls_url(wrong_ca)}
    with pytest.raises(subprocess.CalledProcessError) as refused:
        manage(env, "migrate", "--noinput")
    assert "SSL error" in refused.value.stderr  # the chain does not verify


@pytest.mark.live
def test_a_redis_certificate_from_another_ca_is_refused_by_the_cache(tls_env, tls_redis, wrong_ca):
    """The cache fails soft (authserver/cache.py) rather than talk to an unverified server."""
    env = {**tls_env, "REDIS_URL": tls_redis.tls_url(wrong_ca)}
    assert python_in(env, CACHE_PROBE) is True
    assert python_in(tls_env, CACHE_PROBE) is False


def _blocks(postgres: PostgresServer, ca: Path, network: str) -> int:
    with psycopg.connect(postgres.tls_url(ca), connect_timeout=5) as conn:
        query = "SELECT count(*) FROM abuse_ipblock WHERE network = %s"
        return conn.execute(query, [network]).fetchone()[0]


@pytest.mark.live
def test_a_celery_worker_runs_a_task_through_the_tls_broker(
    tls_env, tls_postgres, tls_redis, tmp_path
):
    """Published over rediss://, consumed by a real worker, its row written over verify-full."""
    ca = tls_redis.tls[0]
    queue = redis.Redis.from_url(tls_redis.url, socket_timeout=5)
    queue.delete("celery")
    assert python_in(tls_env, PUBLISH.format(ip=BLOCKED_IP)) == "sent"
    assert queue.llen("celery") == 1
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "authserver", "worker", "--pool", "solo"],
            env=tls_env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: _blocks(tls_postgres, ca, f"{BLOCKED_IP}/32") == 1, "the IP block")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert queue.llen("celery") == 0, log.read_text()


@pytest.mark.live
def test_a_broker_certificate_from_another_ca_is_refused(tls_env, tls_redis, wrong_ca):
    queue = redis.Redis.from_url(tls_redis.url, socket_timeout=5)
    queue.delete("celery")
    refused = {**tls_env, "REDIS_URL": tls_redis.tls_url(wrong_ca)}
    with pytest.raises(subprocess.CalledProcessError) as failure:
        python_in(refused, PUBLISH.format(ip=BLOCKED_IP))
    assert "certificate verify failed" in failure.value.stderr
    assert queue.llen("celery") == 0


@pytest.mark.live
def test_a_bare_rediss_broker_url_still_verifies_the_certificate(tls_env, tls_redis):
    """kombu's default for ``rediss://`` without ssl options is CERT_NONE (any certificate);
    the settings ask for CERT_REQUIRED, so the system trust store decides."""
    bare = f"rediss://localhost:{tls_redis.port}/0"
    with pytest.raises(subprocess.CalledProcessError) as failure:
        python_in({**tls_env, "REDIS_URL": bare}, PUBLISH.format(ip="203.0.113.78"))
    assert "certificate verify failed" in failure.value.stderr
    trusted = {**tls_env, "REDIS_URL": bare, "SSL_CERT_FILE": str(tls_redis.tls[0])}
    assert python_in(trusted, PUBLISH.format(ip="203.0.113.78")) == "sent"


def test_deploy_checks_flag_plaintext_backends_off_loopback(tmp_path):
    env = production_env(
        "postgres://authserver@db.example.invalid:5432/authserver",
        "redis://cache.example.invalid:6379/0",
        tmp_path,
        ISSUER_URL="https://auth.example.com",
        ALLOWED_HOSTS="auth.example.com",
    )
    with pytest.raises(subprocess.CalledProcessError) as failed:
        manage(env, "check", "--deploy", "--fail-level", "WARNING")
    report = failed.value.stderr
    assert "authserver.W010" in report and "db.example.invalid" in report
    assert "authserver.W011" in report and "cache.example.invalid" in report


POSTGRES = "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("host", "options", "environ", "expected"),
    [
        ("db.internal", {}, {}, ["authserver.W010"]),  # libpq's default: prefer
        ("db.internal", {"sslmode": "prefer"}, {}, ["authserver.W010"]),
        ("db.internal", {"sslmode": "disable"}, {}, ["authserver.W010"]),
        ("db.internal", {"sslmode": "require"}, {}, ["authserver.W012"]),
        ("db.internal", {"sslmode": "verify-full"}, {}, []),
        ("db.internal", {"sslmode": "verify-ca"}, {}, []),
        ("db.internal", {}, {"PGSSLMODE": "verify-full"}, []),
        ("", {}, {"PGHOST": "db.internal"}, ["authserver.W010"]),
        ("127.0.0.1", {}, {}, []),
        ("localhost", {"sslmode": "disable"}, {}, []),
        ("::1", {}, {}, []),
        ("/var/run/postgresql", {}, {}, []),
        ("", {}, {}, []),  # the default Unix socket
        ("127.0.0.1,db.internal", {}, {}, ["authserver.W010"]),
    ],
)
def test_database_tls_findings(host, options, environ, expected):
    database = {"ENGINE": POSTGRES, "HOST": host, "OPTIONS": options}
    assert [w.id for w in database_tls(database, environ)] == expected


def test_sqlite_is_never_a_network_database():
    assert database_tls({"ENGINE": "authserver.sqlite", "HOST": "", "OPTIONS": {}}, {}) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache.internal:6379/0", ["authserver.W011"]),
        ("rediss://cache.internal:6379/0", []),
        ("rediss://cache.internal:6379/0?ssl_ca_certs=/etc/ca.pem", []),
        ("rediss://cache.internal:6379/0?ssl_cert_reqs=none", ["authserver.W012"]),
        ("rediss://cache.internal:6379/0?ssl_cert_reqs=CERT_NONE", ["authserver.W012"]),
        ("rediss://cache.internal:6379/0?ssl_check_hostname=false", ["authserver.W012"]),
        ("redis://127.0.0.1:6379/0", []),
        ("redis://localhost:6379/0", []),
        ("unix:///run/redis.sock", []),
        ("", []),
    ],
)
def test_redis_tls_findings(url, expected):
    assert [w.id for w in redis_tls(url)] == expected


def test_database_url_tls_options_reach_the_driver(tmp_path):
    """Every libpq TLS option in the query (client certificates too) lands in ``OPTIONS``."""
    query = "sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/client.pem&sslkey=/client.key"
    env = production_env(f"postgres://authserver@db.internal/authserver?{query}", "", tmp_path)
    code = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES))"
    options = python_in(env, code)["default"]["OPTIONS"]
    assert options == {
        "sslmode": "verify-full",
        "sslrootcert": "/ca.pem",
        "sslcert": "/client.pem",
        "sslkey": "/client.key",
    }
