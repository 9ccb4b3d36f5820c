"""Fixtures for tests that drive the production mode: private PostgreSQL + Redis, gunicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, REDIRECT_URI, RS1_API
from tests.ops.servers import (
    AppServer,
    PostgresServer,
    RedisServer,
    TlsFiles,
    manage,
    production_env,
    seed,
)

CLIENT_SPECS = [
    {
        "client_id": "machine",
        "name": "Machine",
        "type": "confidential",
        "grant_types": ["client_credentials"],
    },
    {
        "client_id": "rs1",
        "name": "Resource server",
        "type": "confidential",
        "grant_types": ["client_credentials"],
        "api": RS1_API,  # introspects tokens as that API's client (oauth.apis.may_learn)
    },
    {
        "client_id": "webapp",
        "name": "Web App",
        "type": "confidential",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT_URI],
        "scopes": ["openid", "profile", "email", "offline_access"],
        "skip_consent": True,
    },
]


def redis_server(workdir: Path, tls: TlsFiles | None = None) -> Iterator[RedisServer]:
    """A started private Redis (skips the test when the machine has none), stopped after."""
    server = RedisServer(workdir, tls)
    if not server.binary:
        pytest.skip("redis-server is not installed; the Redis fault tests need their own")
    server.start()
    yield server
    server.stop()


def postgres_server(tls: TlsFiles | None = None) -> Iterator[PostgresServer]:
    """A private PostgreSQL with database ``authserver`` (skips without the server binaries)."""
    # Not under pytest's tmp dir: that one is private to us, and the server runs as postgres.
    workdir = Path(tempfile.mkdtemp(prefix="authserver-pg-"))
    server = PostgresServer(workdir, tls)
    if not server.available or (os.geteuid() == 0 and shutil.which("runuser") is None):
        shutil.rmtree(workdir)
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        server.init()
        yield server
    finally:
        if server.running:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory) -> Iterator[RedisServer]:
    yield from redis_server(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PostgresServer]:
    yield from postgres_server()


@pytest.fixture(scope="session")
def prod_stack(private_postgres, private_redis, tmp_path_factory) -> dict:
    """A migrated production database with user alice and clients machine, rs1, webapp."""
    var_dir = tmp_path_factory.mktemp("var")
    env = production_env(private_postgres.url, private_redis.url, var_dir)
    manage(env, "migrate", "--noinput")
    secrets = seed(env, PASSWORD, CLIENT_SPECS)
    return {"env": env, "secrets": secrets, "workdir": var_dir}


def _app_factory(env: dict, workdir: Path) -> Iterator[Callable[..., AppServer]]:
    started: list[AppServer] = []

    def start(**extra_env: str) -> AppServer:
        server = AppServer(env, workdir, **extra_env)
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def start_app(prod_stack, tmp_path) -> Iterator[Callable[..., AppServer]]:
    """Factory: ``start_app(**env)`` -> a running gunicorn, stopped after the test."""
    yield from _app_factory(prod_stack["env"], Path(tmp_path))


@pytest.fixture(scope="module")
def start_shared_app(prod_stack, tmp_path_factory) -> Iterator[Callable[..., AppServer]]:
    """Like ``start_app``, for servers shared by the tests of a module."""
    yield from _app_factory(prod_stack["env"], tmp_path_factory.mktemp("apps"))
