"""``make bench``: the hot paths under load, each as a ratio of the ceiling, beside a peer.

Starts the server exactly as ``make run`` / ``make run-prod`` do (``bench.load.SERVE``: the same
command, configuration file and worker count) with ``AUTHSERVER_BENCH=true`` on a bench
database: SQLite in ``var/bench/`` by default, or PostgreSQL (+ Redis) when ``DATABASE_URL``
(+ ``REDIS_URL``) are set; the PostgreSQL database must be a dedicated one whose name contains
"bench" (it is flushed, and created when missing). Beside it: the ceiling (a bare Django view
under gunicorn sync, 2 workers, ``bench/ceiling_app.py``) and the peer (node-oidc-provider,
``bench/peer.py``). Applies a bench config, then drives every target with wrk in interleaved
rounds, each run right after a run of the ceiling it is compared with, so machine drift hits
each alike, and writes ``var/bench/results.{json,md}`` and ``var/bench/ratios.png`` (plus a copy
of each named after the mode), then the README's performance table from every mode's latest
results (``bench/readme.py``).

Options are flags or ``BENCH_*`` environment variables (see ``--help``).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
FORM = "application/x-www-form-urlencoded"

sys.path.insert(0, str(ROOT))

from bench import fixtures, peer, readme, report  # noqa: E402
from bench.load import (  # noqa: E402
    SERVE,
    Request,
    Server,
    ceiling_command,
    exit_on_sigterm,
    free_port,
    run_wrk,
    venv_command,
)

CLOSE = {"Connection": "close"}


@dataclass
class Target:
    """A path under load; ``request`` is None when this build does not have it."""

    name: str
    label: str
    request: Request | None
    min_ratio: float | None = None  # the issue's bar, where it sets one
    p99_bar_ms: float | None = None
    server: str = "app"  # "app" (the server under test), "ceiling" or "peer"
    peer: str = ""  # the peer's target this one is compared with
    peer_min_ratio: float | None = None
    note: str = ""
    unavailable: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    ceiling_req_s: list[float] = field(default_factory=list)  # measured just before each run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=int(env("BENCH_DURATION", "5")))
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "3")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "16")))
    parser.add_argument("--threads", type=int, default=int(env("BENCH_THREADS", "2")))
    parser.add_argument(
        "--targets",
        default=env("BENCH_TARGETS", ""),
        help="comma-separated subset of target names (default: all)",
    )
    parser.add_argument(
        "--token-rows",
        default=env("BENCH_TOKEN_ROWS", "1000,1000000"),
        help="stored access-token rows for the introspection scaling step ('' to skip)",
    )
    parser.add_argument(
        "--role-counts",
        default=env("BENCH_ROLE_COUNTS", "10,10000"),
        help="roles (10-deep chains) for the decision scaling step ('' to skip)",
    )
    return parser.parse_args(argv)


def counts(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def ensure_postgres_database(url: str) -> str:
    """The bench database's name, after creating it if missing; refuses non-bench names."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"refusing to use database {name!r}: the bench flushes its database, so point "
            "DATABASE_URL at a dedicated one whose name contains 'bench' "
            "(e.g. postgres://postgres@127.0.0.1:5432/authserver_bench)"
        )
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError:
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    return name


def bench_environment(port: int, sqlite_path: Path = OUT / "bench.sqlite3") -> str:
    """Set the server's environment (also used in-process by the driver); returns the mode.
    Without ``DATABASE_URL`` the SQLite database is ``sqlite_path``, created fresh."""
    os.environ.update(
        AUTHSERVER_BENCH="true",
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="authserver.settings",
        PORT=str(port),
        HOST="127.0.0.1",
        ISSUER_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
        # the API key's one budget is counted on every introspection, but must not run out
        API_KEY_RATE_LIMIT=str(10**9),
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        ensure_postgres_database(database_url)
        # what make run-prod adds: the access log on stdout (here: the server's log file)
        os.environ.setdefault("GUNICORN_ACCESS_LOG", "-")
        return "postgresql+redis" if os.environ.get("REDIS_URL") else "postgresql"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    os.environ["SQLITE_PATH"] = str(sqlite_path)
    return "sqlite"


def reset_database() -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    if connection.vendor != "sqlite":  # the SQLite file was just created
        call_command("flush", interactive=False, verbosity=0)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "loadavg_1m_at_end": float(Path("/proc/loadavg").read_text().split()[0]),
        "commit": commit,
    }


def probe(base: str, request: Request) -> int:
    import requests

    response = requests.request(
        request.method,
        base + request.path,
        data=request.body.encode() or None,
        headers=request.headers,
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def static_login(base: str) -> Request:
    """A sign-in of ``bench-user`` that wrk can repeat as it is (CSRF pair reused): for one
    connection (the sign-in view runs one sign-in of an account at a time)."""
    csrf_cookie, csrf_token = fixtures.login_form(base)
    body = {
        "username": "bench-user",
        "password": fixtures.PASSWORD,
        "csrfmiddlewaretoken": csrf_token,
    }
    return Request(
        "POST",
        "/accounts/login/",
        urlencode(body),
        {"Content-Type": FORM, "Cookie": f"csrftoken={csrf_cookie}"},
    )


HOT = 25  # ms: the issue's worst-round p99 bar of every hot path at 16 connections


def build_targets(
    base: str, creds: fixtures.Credentials, the_peer: peer.Peer | None, peer_unavailable: str
) -> list[Target]:
    m2m = fixtures.basic("bench-m2m", creds.secrets["bench-m2m"])
    rs = fixtures.basic("bench-rs", creds.secrets["bench-rs"])
    web = fixtures.basic("bench-web", creds.secrets["bench-web"])
    access_token = fixtures.client_credentials_token(base, m2m)
    user_token = fixtures.code_flow_tokens(base, fixtures.signed_in_session(base), web)
    user_token = user_token["access_token"]
    journey = fixtures.journey_env(base, web)
    form = {"Content-Type": FORM}
    evaluation = (
        '{"subject": {"type": "user", "id": "bench-user"}, "action": {"name": "GET"}, '
        '"resource": {"type": "route", "id": "/api/c0/l0/orders/42"}}'
    )
    ceiling = Request("GET", "/bench/ceiling")
    client_credentials = Request(
        "POST",
        "/o/token/",
        "grant_type=client_credentials&scope=api%3Aread",
        {**form, "Authorization": m2m},
    )
    introspection = Request(
        "POST", "/o/introspect/", urlencode({"token": access_token}), {**form, "Authorization": rs}
    )
    decision = Request(
        "POST",
        "/access/v1/evaluation",
        evaluation,
        {"Content-Type": "application/json", "Authorization": rs},
    )
    jwks = Request("GET", "/o/jwks/")
    peer_cc = the_peer.client_credentials() if the_peer else None
    peer_introspection = the_peer.introspection() if the_peer else None
    closed = " (Connection: close)"
    targets = [
        Target(
            "ceiling",
            "Ceiling: bare Django view, gunicorn sync, 2 workers",
            ceiling,
            server="ceiling",
        ),
        Target(
            "bare",
            "Bare view on the shipped server",
            ceiling,
            note="the same trivial view on the server make run starts: the server's own gain",
        ),
        Target(
            "token_client_credentials",
            "Token: client credentials",
            client_credentials,
            min_ratio=0.8,
            p99_bar_ms=HOT,
            peer="peer_client_credentials",
            peer_min_ratio=0.85,
        ),
        Target(
            "token_client_credentials_close",
            "Token: client credentials" + closed,
            client_credentials.with_headers(**CLOSE),
            peer="peer_client_credentials_close",
        ),
        Target(
            "token_refresh",
            "Token: refresh (rotation)",
            Request("POST", "/o/token/", "", {**form, "Authorization": web}),
            min_ratio=0.5,
            note="rotation chains seeded from fresh code exchanges; every token used once",
        ),
        Target(
            "token_code_exchange",
            "Token: authorization code exchange",
            Request(
                "POST",
                "/o/token/",
                "",
                {**form, "Authorization": web},
                script="code.lua",
                env={"BENCH_REDIRECT_URI": fixtures.REDIRECT_URI},
            ),
            min_ratio=0.4,
            note="a pool of fresh codes (PKCE S256, openid offline_access) made before each "
            "run; every code used once",
        ),
        Target(
            "sign_in_journey",
            "Sign-in journey (journeys/s)",
            Request(
                "GET",
                "/o/authorize/",
                script="journey.lua",
                env=journey,
                thread_per_connection=True,
            ),
            note="authorize → sign-in page → password (Argon2id, OWASP parameters) → code → "
            "token: 4 requests a journey, one connection per wrk thread; p99 is per request",
        ),
        Target(
            "introspect_jwt",
            "Introspection: JWT access token",
            introspection,
            min_ratio=0.9,
            p99_bar_ms=HOT,
            peer="peer_introspection",
        ),
        Target(
            "introspect_jwt_close",
            "Introspection: JWT access token" + closed,
            introspection.with_headers(**CLOSE),
            peer="peer_introspection_close",
        ),
        Target(
            "introspect_user_jwt",
            "Introspection: a user's JWT (stored row)",
            Request(
                "POST",
                "/o/introspect/",
                urlencode({"token": user_token}),
                {**form, "Authorization": rs},
            ),
            min_ratio=0.9,
            p99_bar_ms=HOT,
            note="code-flow token: one indexed read by checksum",
        ),
        Target(
            "introspect_api_key",
            "Introspection: API key",
            Request(
                "POST",
                "/o/introspect/",
                urlencode({"token": creds.api_key or ""}),
                {**form, "Authorization": rs},
            ),
            min_ratio=0.9,
            p99_bar_ms=HOT,
            unavailable="" if creds.api_key else "not available in this build (no API keys)",
        ),
        Target("authzen_evaluation", "AuthZEN evaluation", decision, min_ratio=0.9, p99_bar_ms=HOT),
        Target(
            "authzen_evaluation_close",
            "AuthZEN evaluation" + closed,
            decision.with_headers(**CLOSE),
        ),
        Target("jwks", "JWKS", jwks, p99_bar_ms=HOT),
        Target("jwks_close", "JWKS" + closed, jwks.with_headers(**CLOSE)),
        Target("discovery", "Discovery", Request("GET", "/.well-known/openid-configuration")),
        Target(
            "password_login",
            "Password sign-in (sign-ins/s)",
            Request(
                "POST",
                "/accounts/login/",
                script="journey.lua",
                env={**journey, "BENCH_LOGIN_ONLY": "1"},
                thread_per_connection=True,
            ),
            note="Argon2id at OWASP parameters; each connection its own user (one sign-in of an "
            "account runs at a time); each sign-in is a 302 and a new session row",
        ),
    ]
    version = peer.version()
    for name, label, request in (
        ("peer_client_credentials", "client credentials", peer_cc),
        ("peer_client_credentials_close", "client credentials" + closed, peer_cc),
        ("peer_introspection", "introspection", peer_introspection),
        ("peer_introspection_close", "introspection" + closed, peer_introspection),
    ):
        if request is not None and name.endswith("_close"):
            request = request.with_headers(**CLOSE)
        targets.append(
            Target(
                name,
                f"Peer: node-oidc-provider {version}, {label}",
                request,
                server="peer",
                unavailable=peer_unavailable if request is None else "",
                note="one Node process, in-memory adapter; introspects an opaque token (it "
                "refuses its JWTs)"
                if name == "peer_introspection"
                else "",
            )
        )
    for target in targets:
        if target.unavailable or target.request is None or target.request.script:
            continue
        if target.server != "app" or target.name == "token_refresh":
            continue
        status = probe(base, target.request)
        if status == 404:
            target.unavailable = "not available in this build (404)"
        elif status >= 400:
            target.note = f"probe answered {status}; " + target.note
    return targets


def run_target(
    servers: dict[str, Server | None],
    target: Target,
    args: argparse.Namespace,
    request: Request | None = None,
) -> dict[str, Any]:
    """One wrk run of ``target`` (or ``request``, its pool filled in) against its server, with
    that server's CPU time per request and each of its processes' peak RSS."""
    request = request or target.request
    server = servers[target.server]
    if request is None or server is None:
        raise ValueError(f"{target.name} is not available")
    app = servers["app"]
    if app is not None:
        app.settle()
    rss_reset = server.reset_peak_rss()
    cpu = server.cpu_seconds()
    result = run_wrk(
        server.base,
        request,
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
    )
    done = max(result.get("journeys", result["requests"]), 1)
    result["cpu_us_per_request"] = round((server.cpu_seconds() - cpu) / done * 1e6, 1)
    result["client_cpu_us_per_request"] = round(result.pop("client_cpu_s") / done * 1e6, 1)
    result["peak_rss_mib"] = server.peak_rss_mib()
    result["peak_rss_since_start"] = not rss_reset
    return result


def refresh_pool(server: Server, creds: fixtures.Credentials, args: argparse.Namespace) -> Path:
    auth = fixtures.basic("bench-web", creds.secrets["bench-web"])
    size = args.connections * 2
    return fixtures.refresh_token_pool(server.base, auth, size, OUT / "refresh-pool.txt")


def code_pool_size(target: Target, args: argparse.Namespace) -> int:
    """Enough codes for a run at 1.5x the last run's rate (2,000 before the first)."""
    if not target.runs:
        return 2000
    rate = report.req_per_s(target.runs[-1])
    return min(30_000, max(1000, int(rate * args.duration * 1.5)))


def pooled(
    server: Server, target: Target, creds: fixtures.Credentials, args: argparse.Namespace
) -> Request | None:
    """The request of a target that spends single-use credentials, with a fresh pool."""
    if target.request is None:
        return None
    if target.name == "token_refresh":
        return target.request.with_pool(refresh_pool(server, creds, args))
    if target.name == "token_code_exchange":
        path = OUT / "code-pool.txt"
        return target.request.with_pool(
            fixtures.code_pool(server.base, code_pool_size(target, args), path)
        )
    return None


def run_rounds(
    servers: dict[str, Server | None],
    targets: list[Target],
    creds: fixtures.Credentials,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> None:
    """Each round runs every path in a rotated order, each right after a run of the ceiling,
    so that a path's ratio compares two runs seconds apart: on a shared virtual machine the
    throughput of the same code drifts by 10% within a minute."""
    app = servers["app"]
    assert app is not None
    ceiling = next(t for t in targets if t.name == "ceiling")
    active = [t for t in targets if not t.unavailable and t is not ceiling]
    for round_index in range(args.rounds):
        shift = round_index % max(len(active), 1)
        for target in active[shift:] + active[:shift]:  # rotate the order every round
            request = pooled(app, target, creds, args)
            for measured, spec in ((ceiling, None), (target, request)):
                result = run_target(servers, measured, args, spec)
                measured.runs.append(result)
                log(
                    f"round {round_index + 1}/{args.rounds} {measured.name}: "
                    f"{report.one_line(result)}"
                )
            target.ceiling_req_s.append(report.req_per_s(ceiling.runs[-1]))


def lookup_microseconds(token: str, caller: Any, calls: int = 400, batches: int = 5) -> float:
    """Median time of one in-process ``introspect()`` call with the token-row cache emptied
    each time (the indexed read the table size could slow down, plus decoding), steadier than
    a load test on a busy machine."""
    from oauth import introspection

    if not introspection.introspect(token, caller=caller)["active"]:
        raise RuntimeError("the probe token is not active")
    per_call = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(calls):
            introspection._rows.clear()
            introspection._answers.clear()
            introspection.introspect(token, caller=caller)
        per_call.append((time.perf_counter() - started) / calls * 1e6)
    return round(statistics.median(per_call), 1)


def introspection_scaling(
    servers: dict[str, Server | None],
    target: Target,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Introspection of a user's token (found by its row) with ``--token-rows`` stored access
    tokens (filler rows removed after)."""
    from django.db import connection

    from oauth.models import Client

    steps = []
    application_id = Client.objects.get(client_id="bench-m2m").pk
    caller = Client.objects.get(client_id="bench-rs")
    token = parse_qs(target.request.body)["token"][0] if target.request else ""
    try:
        for rows in counts(args.token_rows):
            missing = rows - fixtures.access_token_rows()
            started = time.monotonic()
            if missing > 0:
                fixtures.add_filler_tokens(missing, application_id)
            fixtures.settle_database()
            seeded = time.monotonic() - started
            lookup = lookup_microseconds(token, caller)
            connection.close()
            result = run_target(servers, target, args)
            result["rows"] = fixtures.access_token_rows()
            result["seed_seconds"] = round(seeded, 1)
            result["lookup_us"] = lookup
            connection.close()
            steps.append(result)
            log(f"introspection with {result['rows']:,} rows: {report.one_line(result)}")
    finally:
        fixtures.remove_filler_tokens()
        connection.close()
    return steps


def decision_scaling(
    servers: dict[str, Server | None],
    target: Target,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """AuthZEN evaluation with ``--role-counts`` roles in 10-deep chains (builds with RBAC)."""
    from django.db import connection

    steps = []
    sections = fixtures.available_sections()
    for roles in counts(args.role_counts):
        config = fixtures.bench_config(sections)
        config["roles"] = [
            *fixtures.role_chains(max(1, roles // 10)),
            {"name": "bench-evaluator", "permissions": [fixtures.EVALUATE_PERMISSION]},
        ]
        config.pop("api_keys", None)  # the key exists already; apply leaves it alone
        fixtures.apply_config(config, OUT / f"roles-{roles}.yaml")
        connection.close()
        result = run_target(servers, target, args)
        result["roles"] = len(config["roles"])
        steps.append(result)
        log(f"evaluation with {result['roles']:,} roles: {report.one_line(result)}")
    return steps


def server_settings(env: dict[str, str]) -> dict[str, Any]:
    """The worker class, count and threads ``SERVE`` resolves to (gunicorn --print-config)."""
    printed = subprocess.run(  # noqa: S603 (fixed argv)
        [*venv_command(SERVE[:-1]), "--print-config", SERVE[-1]],
        cwd=ROOT,
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(OUT / "print-config-metrics")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    resolved = {}
    for line in printed.splitlines():
        name, _, value = line.partition("=")
        resolved[name.strip()] = value.strip()
    return {
        "command": " ".join(SERVE),
        "worker_class": resolved["worker_class"],
        "workers": int(resolved["workers"]),
        "threads": int(resolved["threads"]),
        "keepalive_s": int(resolved["keepalive"]),
    }


def start_peer(
    stack: ExitStack, log: Callable[[str], None]
) -> tuple[peer.Peer | None, Server | None, str]:
    """node-oidc-provider installed and running (stopped with ``stack``), or why not."""
    directory = OUT / "peer"
    reason = peer.install(directory)
    if reason:
        log(f"peer: {reason}")
        return None, None, reason
    the_peer = peer.Peer(directory, OUT / "peer.log")
    server = stack.enter_context(the_peer.server())
    log(f"peer: node-oidc-provider {peer.version()} up at {the_peer.base}")
    return the_peer, server, ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    exit_on_sigterm()
    mode = bench_environment(free_port())

    def log(message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    import django

    django.setup()
    from django.db import connection

    load = float(Path("/proc/loadavg").read_text().split()[0])
    log(f"mode {mode}, load average {load:.1f}: migrating and applying the bench config")
    reset_database()
    sections = fixtures.available_sections()
    creds = fixtures.apply_config(fixtures.bench_config(sections), OUT / "config.yaml")
    connection.close()
    shipped = server_settings(dict(os.environ))
    ceiling_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}

    with ExitStack() as stack:
        server = stack.enter_context(Server(dict(os.environ), OUT / "server.log"))
        log(
            f"server up at {server.base}: {shipped['command']}, {shipped['workers']} x "
            f"{shipped['worker_class']} ({shipped['threads']} threads)"
        )
        ceiling_port = free_port()
        ceiling = stack.enter_context(
            Server(
                {**ceiling_env, "PORT": str(ceiling_port)},
                OUT / "ceiling.log",
                command=ceiling_command(ceiling_port),
            )
        )
        the_peer, peer_server, peer_unavailable = start_peer(stack, log)
        servers = {"app": server, "ceiling": ceiling, "peer": peer_server}
        targets = build_targets(server.base, creds, the_peer, peer_unavailable)
        wanted = set(filter(None, args.targets.split(",")))
        if wanted:
            targets = [t for t in targets if t.name in wanted or t.name == "ceiling"]
        for target in targets:
            if target.unavailable:
                log(f"{target.name}: {target.unavailable}")
        by_name = {t.name: t for t in targets}
        token_scaling = []
        if args.token_rows and "introspect_user_jwt" in by_name:
            token_scaling = introspection_scaling(
                servers, by_name["introspect_user_jwt"], args, log
            )
        run_rounds(servers, targets, creds, args, log)
        decision = by_name.get("authzen_evaluation")
        role_scaling = []
        if args.role_counts and decision is not None and not decision.unavailable:
            if "roles" in sections:
                role_scaling = decision_scaling(servers, decision, args, log)

    results = report.summarise(
        machine={**machine(), "mode": mode, "loadavg_1m_at_start": load},
        settings={
            "duration_s": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "threads": args.threads,
            "server": shipped,
            "peer": f"node-oidc-provider {peer.version()}" if the_peer else peer_unavailable,
        },
        targets=targets,
        token_scaling=token_scaling,
        role_scaling=role_scaling,
    )
    paths = report.write(results, OUT, mode)
    print(report.markdown(results))
    log("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in paths))
    if readme.update(ROOT / "README.md", OUT):
        log("rewrote the performance table in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
