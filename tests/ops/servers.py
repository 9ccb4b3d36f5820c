"""Throwaway servers on spare loopback ports: PostgreSQL, Redis and the app under gunicorn.

Tests stop and start these (never the machine's shared services). Every wait is bounded.
"""

from __future__ import annotations

import atexit
import fcntl
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# A bound, not a pause (waits poll): generous, as a loaded machine starts servers slowly.
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# (ca.pem, server certificate, its key), as tests.outbound.make_tls_files makes them
TlsFiles = tuple[Path, Path, Path]


def postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class RedisServer:
    """With ``tls``, it listens for TLS only (``--port 0``) and ``url`` is a ``rediss://`` URL."""

    def __init__(self, workdir: Path, tls: TlsFiles | None = None) -> None:
        self.binary = shutil.which("redis-server")
        self.workdir = workdir
        self.tls = tls
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.tls:
            return self.tls_url(self.tls[0])
        return f"redis://127.0.0.1:{self.port}/0"

    def tls_url(self, ca: Path) -> str:
        """``rediss://`` with the host name its certificate names, trusting ``ca``."""
        return f"rediss://localhost:{self.port}/0?ssl_ca_certs={ca}"

    def _listen(self) -> list[str]:
        if not self.tls:
            return ["--port", str(self.port)]
        ca, cert, key = self.tls
        return [
            "--port",
            "0",
            "--tls-port",
            str(self.port),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
        ]

    def start(self) -> None:
        assert self.binary
        self.proc = subprocess.Popen(
            [
                self.binary,
                *self._listen(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for(self._listening, "redis-server")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited: {self.proc.stderr.read().decode()[-500:]}")
        return port_open(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc.stderr.close()
            self.proc = None


class PostgresServer:
    """A private cluster in a temp dir, run as the ``postgres`` user when we are root. With
    ``tls`` it has ``ssl=on`` and refuses plaintext TCP connections, and ``url`` asks for
    ``sslmode=verify-full`` against host name ``localhost``."""

    def __init__(self, workdir: Path, tls: TlsFiles | None = None) -> None:
        self.initdb = postgres_bin("initdb")
        self.pg_ctl = postgres_bin("pg_ctl")
        self.datadir = workdir / "pgdata"
        self.workdir = workdir
        self.tls = tls
        self.port = free_port()

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    @property
    def url(self) -> str:
        if self.tls:
            return self.tls_url(self.tls[0])
        return f"postgres://postgres@127.0.0.1:{self.port}/authserver"

    def tls_url(self, ca: Path) -> str:
        return (
            f"postgres://postgres@localhost:{self.port}/authserver"
            f"?sslmode=verify-full&sslrootcert={ca}"
        )

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self._run(
            self.initdb, "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        if self.tls:
            self._install_tls(*self.tls[1:])
        self.start()
        self._run(
            postgres_bin("createdb") or "createdb",
            "-h",
            str(self.workdir),  # its Unix socket: plaintext TCP may be refused
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "authserver",
        )

    def _install_tls(self, cert: Path, key: Path) -> None:
        """The server's certificate in its data directory (the key private to its owner, as
        PostgreSQL demands), and every plaintext TCP connection rejected."""
        for source, name in ((cert, "server.crt"), (key, "server.key")):
            target = self.datadir / name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            if os.geteuid() == 0:
                shutil.chown(target, "postgres", "postgres")
        hba = self.datadir / "pg_hba.conf"
        hba.write_text("hostnossl all all all reject\n" + hba.read_text())

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        if self.tls:
            options += " -c ssl=on"
        self._run(
            self.pg_ctl,
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.workdir / "pg.log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop")

    @property
    def running(self) -> bool:
        return port_open(self.port)


@contextmanager
def scratch_database(workdir: Path, suffix: str) -> Iterator[dict[str, str]]:
    """Environment naming a fresh database: ``test_<name>_<suffix>[_<xdist worker>]`` on the
    PostgreSQL server of ``DATABASE_URL`` when that is set (dropped afterwards), else a SQLite
    file in ``workdir``."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield {"SQLITE_PATH": str(workdir / f"{suffix}.sqlite3")}
        return
    import psycopg

    parts = urlsplit(url)
    # per pytest-xdist worker too: a module's fixture is made by every worker that runs one of
    # its tests, and each would drop the other's database
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"test_{parts.path.lstrip('/')}_{suffix}{'_' + worker if worker else ''}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="test-only-secret-key-" + "x" * 40,
        AUTHSERVER_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def embedded_env(database: dict[str, str], var_dir: Path, **extra: str) -> dict:
    """The environment of ``make run`` (no Redis) on ``database`` (from ``scratch_database``):
    each audit row stored by its request, and loopback spared the per-IP abuse response (not
    what these tests are about)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        database,
        SECRET_KEY="test-only-secret-key-" + "x" * 40,
        AUTHSERVER_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
        AUDIT_BATCH_EVENTS="1",
        ABUSE_IP_ALLOWLIST="127.0.0.0/8",
    )
    env.update(extra)
    return env


def migrated_embedded_env(workdir: Path) -> dict:
    """``make run``'s mode (SQLite and the cache in ``workdir/var``, no Redis), migrated."""
    env = embedded_env({}, workdir / "var")
    migrate(env)
    return env


# A database migrated once (``manage.py migrate`` costs some 4 CPU seconds beyond Django's
# start), which ``migrate`` copies for every server that needs a fresh one: per test run for
# SQLite (the first xdist worker that needs it migrates, the others wait, then copy), per test
# process on PostgreSQL.
_templates: dict[str, str] = {}
_template_dir = Path(tempfile.mkdtemp(prefix="authserver-migrated-"))
atexit.register(shutil.rmtree, _template_dir, ignore_errors=True)
RUN_TEMPLATES_KEPT = 86400  # seconds a test run's shared template outlives it (then removed)


def _run_template_dir() -> Path:
    """The directory every xdist worker of this test run shares (its run id names it; those of
    runs more than a day old are removed), else this process's own."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return _template_dir
    root = Path(tempfile.gettempdir())
    for old in root.glob("authserver-migrated-run-*"):
        if time.time() - old.stat().st_mtime > RUN_TEMPLATES_KEPT:
            shutil.rmtree(old, ignore_errors=True)
    shared = root / f"authserver-migrated-run-{run}"
    shared.mkdir(exist_ok=True)
    return shared


def _sqlite_template(env: dict) -> str:
    """The migrated SQLite file of this run, migrated by the first caller (under a lock: a
    file whose ``.done`` marker is missing is not finished)."""
    shared = _run_template_dir()
    template = shared / "migrated.sqlite3"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "migrated.done").exists():
            manage({**env, "SQLITE_PATH": str(template)}, "migrate", "--noinput")
            (shared / "migrated.done").touch()
    return str(template)


def migrate(env: dict) -> None:
    """What ``manage.py migrate`` makes of an empty database, for ``env``'s database: a copy
    of a template the first call migrates (through ``manage.py migrate`` all the same). SQLite
    files are copied with SQLite's backup API; on PostgreSQL the database is made again with
    ``CREATE DATABASE ... TEMPLATE`` (a file copy on the server)."""
    url = env.get("DATABASE_URL")
    if url:
        _copy_postgres(env, url)
        return
    target = Path(env.get("SQLITE_PATH") or Path(env["AUTHSERVER_VAR_DIR"]) / "authserver.sqlite3")
    template = _templates.get("sqlite")
    if template is None:
        template = _templates["sqlite"] = _sqlite_template(env)
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()


def _copy_postgres(env: dict, url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    template = _templates.get(admin)
    if template is None:
        # named like scratch_database's, after the suite's own database and xdist worker
        ours = urlsplit(os.environ.get("DATABASE_URL", url)).path.lstrip("/")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        template = f"test_{ours}_migrated{'_' + worker if worker else ''}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}"')
        atexit.register(_drop_postgres, admin, template)
        manage(
            {**env, "DATABASE_URL": urlunsplit(parts._replace(path=f"/{template}"))},
            "migrate",
            "--noinput",
        )
        _templates[admin] = template
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _drop_postgres(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ManageFailed(subprocess.CalledProcessError):
    """A failed ``manage.py`` run whose message carries what the command printed."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{(self.stdout or '')[-2000:]}{(self.stderr or '')[-4000:]}"


def manage(env: dict, *args: str) -> str:
    """``manage.py args`` in ``env``; its output. A failure says what the command printed."""
    command = [str(VENV_BIN / "python"), str(ROOT / "manage.py"), *args]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise ManageFailed(result.returncode, command, result.stdout, result.stderr)
    return result.stdout


SEED = """
import json
from accounts import services as accounts
from core.actors import APPLY
from tests.ops.seeding import client_create
accounts.user_create(actor=APPLY, username="alice", password={password!r},
                     email="alice@example.com")
made = {{}}
for spec in {specs!r}:
    client, secret = client_create(spec)
    made[client.client_id] = secret
print(json.dumps(made))
"""


def seed(env: dict, password: str, specs: list[dict]) -> dict[str, str]:
    """Create user ``alice`` and the given clients (a spec's ``api``: the identifier of the
    registered API whose client it is); returns ``{client_id: secret}``."""
    return python_in(env, SEED.format(password=password, specs=specs))


def python_in(env: dict, code: str) -> object:
    """Run ``code`` in the server's environment (``manage.py shell``); its last line of
    output is parsed as JSON and returned."""
    out = manage(env, "shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


@contextmanager
def serving(env: dict, workdir: Path, seed_code: str, workers: int) -> Iterator[tuple]:
    """Migrate, run ``seed_code`` (its JSON output returned) and serve with ``workers``
    gunicorn workers while the block runs: ``(seeded, server)``."""
    migrate(env)
    seeded = python_in(env, seed_code)
    server = AppServer(env, workdir, WEB_CONCURRENCY=str(workers))
    server.start()
    try:
        yield seeded, server
    finally:
        server.stop()


class AppServer:
    """``gunicorn -c authserver/gunicorn.conf.py`` on a spare port, with output kept."""

    def __init__(
        self, env: dict, workdir: Path, app: str = "authserver.wsgi:application", **extra_env: str
    ) -> None:
        self.app = app  # the WSGI entry, "module:callable"
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": "1", **extra_env}
        self.env.setdefault("ISSUER_URL", f"http://127.0.0.1:{self.port}")
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, base: str | None = None, verify: str | bool = True) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    "-c",
                    "authserver/gunicorn.conf.py",
                    self.app,
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self._live(base or self.base, verify), f"gunicorn on port {self.port}")

    def start_tls(self, ca: Path) -> None:
        """Start with TLS_CERTFILE/TLS_KEYFILE set; ready when HTTPS answers."""
        self.start(base=f"https://localhost:{self.port}", verify=str(ca))

    def _live(self, base: str, verify: str | bool) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.log()}")
        try:
            return requests.get(f"{base}/health/live", timeout=5, verify=verify).ok
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None


@contextmanager
def own_session(args: list[str], env: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    """``args`` run from the repository in a session of their own, output to ``log_path``;
    afterwards SIGTERM to the whole session (SIGKILL if it is still there after 30 s)."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
