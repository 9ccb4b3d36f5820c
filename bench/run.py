"""``make bench``: the hot paths under load, each as a ratio of the stack's own ceiling.

Starts gunicorn as production runs it (``authserver/gunicorn.conf.py``, 2 workers, DEBUG
off, ``AUTHSERVER_BENCH=true``) on a bench database: SQLite in ``var/bench/`` by default, or
PostgreSQL (+ Redis) when ``DATABASE_URL`` (+ ``REDIS_URL``) are set; the PostgreSQL database must
be a dedicated one whose name contains "bench" (it is flushed, and created when missing). Applies
a bench config, then drives every target with wrk in interleaved rounds, each run right after a
run of the ceiling it is compared with, so machine drift hits each alike, and writes
``var/bench/results.{json,md}`` and ``var/bench/ratios.png`` (plus a copy of each named after the
mode).

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
FORM = "application/x-www-form-urlencoded"

sys.path.insert(0, str(ROOT))

from bench import fixtures, report  # noqa: E402
from bench.load import Request, Server, free_port, run_wrk  # noqa: E402


@dataclass
class Target:
    """A path under load; ``request`` is None when this build does not have it."""

    name: str
    label: str
    request: Request | None
    min_ratio: float | None = None  # the issue's bar, where it sets one
    p99_bar_ms: float | None = None
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
        WEB_CONCURRENCY="2",
        PORT=str(port),
        HOST="127.0.0.1",
        ISSUER_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
        GUNICORN_ACCESS_LOG="",
        GUNICORN_MAX_REQUESTS="0",
        # the API key's one budget is counted on every introspection, but must not run out
        API_KEY_RATE_LIMIT=str(10**9),
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        ensure_postgres_database(database_url)
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


def build_targets(base: str, creds: fixtures.Credentials) -> list[Target]:
    m2m = fixtures.basic("bench-m2m", creds.secrets["bench-m2m"])
    rs = fixtures.basic("bench-rs", creds.secrets["bench-rs"])
    web = fixtures.basic("bench-web", creds.secrets["bench-web"])
    access_token = fixtures.client_credentials_token(base, m2m)
    user_token = fixtures.code_flow_tokens(base, fixtures.signed_in_session(base), web)
    user_token = user_token["access_token"]
    csrf_cookie, csrf_token = fixtures.login_form(base)
    form = {"Content-Type": FORM}
    evaluation = (
        '{"subject": {"type": "user", "id": "bench-user"}, "action": {"name": "GET"}, '
        '"resource": {"type": "route", "id": "/api/c0/l0/orders/42"}}'
    )
    targets = [
        Target("ceiling", "Ceiling (trivial JSON view)", Request("GET", "/bench/ceiling")),
        Target(
            "token_client_credentials",
            "Token: client credentials",
            Request(
                "POST",
                "/o/token/",
                "grant_type=client_credentials&scope=api%3Aread",
                {**form, "Authorization": m2m},
            ),
            min_ratio=0.5,
            p99_bar_ms=25,
        ),
        Target(
            "token_refresh",
            "Token: refresh (rotation)",
            Request("POST", "/o/token/", "", {**form, "Authorization": web}),
            note="rotation chains seeded from fresh code exchanges; every token used once",
        ),
        Target(
            "introspect_jwt",
            "Introspection: JWT access token",
            Request(
                "POST",
                "/o/introspect/",
                urlencode({"token": access_token}),
                {**form, "Authorization": rs},
            ),
            min_ratio=0.75,
            p99_bar_ms=25,
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
            min_ratio=0.75,
            p99_bar_ms=25,
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
            min_ratio=0.75,
            p99_bar_ms=25,
            unavailable="" if creds.api_key else "not available in this build (no API keys)",
        ),
        Target(
            "authzen_evaluation",
            "AuthZEN evaluation",
            Request(
                "POST",
                "/access/v1/evaluation",
                evaluation,
                {"Content-Type": "application/json", "Authorization": rs},
            ),
            min_ratio=0.75,
            p99_bar_ms=25,
        ),
        Target("jwks", "JWKS", Request("GET", "/o/jwks/")),
        Target("discovery", "Discovery", Request("GET", "/.well-known/openid-configuration")),
        Target(
            "password_login",
            "Password login (Argon2id)",
            Request(
                "POST",
                "/accounts/login/",
                urlencode(
                    {
                        "username": "bench-user",
                        "password": fixtures.PASSWORD,
                        "csrfmiddlewaretoken": csrf_token,
                    }
                ),
                {**form, "Cookie": f"csrftoken={csrf_cookie}"},
            ),
            note="each sign-in is a 302 and a new session row",
        ),
    ]
    for target in targets:
        if target.unavailable or target.request is None or target.name == "token_refresh":
            continue
        status = probe(base, target.request)
        if status == 404:
            target.unavailable = "not available in this build (404)"
        elif status >= 400:
            target.note = f"probe answered {status}; " + target.note
    return targets


def run_target(
    server: Server, target: Target, args: argparse.Namespace, pool: Path | None = None
) -> dict[str, Any]:
    if target.request is None:
        raise ValueError(f"{target.name} is not available")
    request = target.request
    if pool is not None:
        request = Request(request.method, request.path, request.body, request.headers, pool)
    server.settle()
    rss_reset = server.reset_peak_rss()
    result = run_wrk(
        server.base,
        request,
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
    )
    result["peak_rss_mib"] = server.peak_rss_mib()
    result["peak_rss_since_start"] = not rss_reset
    return result


def refresh_pool(server: Server, creds: fixtures.Credentials, args: argparse.Namespace) -> Path:
    auth = fixtures.basic("bench-web", creds.secrets["bench-web"])
    size = args.connections * 2
    return fixtures.refresh_token_pool(server.base, auth, size, OUT / "refresh-pool.txt")


def run_rounds(
    server: Server,
    targets: list[Target],
    creds: fixtures.Credentials,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> None:
    """Each round runs every path in a rotated order, each right after a run of the ceiling,
    so that a path's ratio compares two runs seconds apart: on a shared virtual machine the
    throughput of the same code drifts by 10% within a minute."""
    ceiling = next(t for t in targets if t.name == "ceiling")
    active = [t for t in targets if not t.unavailable and t is not ceiling]
    for round_index in range(args.rounds):
        shift = round_index % max(len(active), 1)
        for target in active[shift:] + active[:shift]:  # rotate the order every round
            pool = refresh_pool(server, creds, args) if target.name == "token_refresh" else None
            for measured, spec in ((ceiling, None), (target, pool)):
                result = run_target(server, measured, args, spec)
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
    server: Server, target: Target, args: argparse.Namespace, log: Callable[[str], None]
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
            result = run_target(server, target, args)
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
    server: Server, target: Target, args: argparse.Namespace, log: Callable[[str], None]
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
        result = run_target(server, target, args)
        result["roles"] = len(config["roles"])
        steps.append(result)
        log(f"evaluation with {result['roles']:,} roles: {report.one_line(result)}")
    return steps


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
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

    with Server(dict(os.environ), OUT / "gunicorn.log") as server:
        log(f"gunicorn up at {server.base}, workers {server.workers()}")
        targets = build_targets(server.base, creds)
        wanted = set(filter(None, args.targets.split(",")))
        if wanted:
            targets = [t for t in targets if t.name in wanted or t.name == "ceiling"]
        for target in targets:
            if target.unavailable:
                log(f"{target.name}: {target.unavailable}")
        by_name = {t.name: t for t in targets}
        token_scaling = []
        if args.token_rows and "introspect_user_jwt" in by_name:
            token_scaling = introspection_scaling(server, by_name["introspect_user_jwt"], args, log)
        run_rounds(server, targets, creds, args, log)
        decision = by_name.get("authzen_evaluation")
        role_scaling = []
        if args.role_counts and decision is not None and not decision.unavailable:
            if "roles" in sections:
                role_scaling = decision_scaling(server, decision, args, log)

    results = report.summarise(
        machine={**machine(), "mode": mode, "loadavg_1m_at_start": load},
        settings={
            "duration_s": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "threads": args.threads,
            "gunicorn_workers": 2,
        },
        targets=targets,
        token_scaling=token_scaling,
        role_scaling=role_scaling,
    )
    paths = report.write(results, OUT, mode)
    print(report.markdown(results))
    log("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
