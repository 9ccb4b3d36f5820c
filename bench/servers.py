"""``make bench-servers``: the same application under each candidate server (issue 18).

gunicorn sync, gunicorn gthread (4 and 8 threads), the buffered gthread worker that ``make
run`` ships (``authserver/http_worker.py``, 4 and 8 threads) and granian (WSGI), each with 2
and 2 x CPUs + 1 workers, on the bare view, client credentials, introspection, AuthZEN and
JWKS, with keep-alive and with ``Connection: close``. Every server gets the same bench database
(SQLite in ``var/bench/``), the same environment as ``make bench``, and is started on its own in
turn; rounds run the servers in alternating order. Writes ``var/bench/servers.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fixtures, report  # noqa: E402
from bench.load import (  # noqa: E402
    SERVE,
    Request,
    Server,
    exit_on_sigterm,
    free_port,
    run_wrk,
    venv_command,
)  # noqa: E402
from bench.run import OUT, bench_environment, build_targets, reset_database  # noqa: E402

PATHS = ("bare", "token_client_credentials", "introspect_jwt", "authzen_evaluation", "jwks")
CLOSE = {"Connection": "close"}


def candidates(port: int, workers: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name: (argv, extra environment). gunicorn's command-line options override its file."""
    serve = venv_command(SERVE)
    gunicorn, app = serve[:-1], serve[-1]
    granian = venv_command(["granian"])
    count = {"WEB_CONCURRENCY": str(workers)}
    return {
        "gunicorn sync": ([*gunicorn, "--worker-class", "sync", app], count),
        "gunicorn gthread 4": (
            [*gunicorn, "--worker-class", "gthread", "--threads", "4", app],
            count,
        ),
        "gunicorn gthread 8": (
            [*gunicorn, "--worker-class", "gthread", "--threads", "8", app],
            count,
        ),
        "buffered gthread 4": (serve, {**count, "GUNICORN_THREADS": "4"}),
        "buffered gthread 8": (serve, {**count, "GUNICORN_THREADS": "8"}),
        "granian": (
            [
                *granian,
                "--interface",
                "wsgi",
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                app,
            ],
            count,
        ),
    }


def requests_for(base: str, creds: fixtures.Credentials) -> dict[str, Request]:
    targets = {t.name: t for t in build_targets(base, creds, None, "not measured here")}
    chosen = {"bare": targets["ceiling"].request}
    chosen.update({name: targets[name].request for name in PATHS[1:]})
    return chosen


def measure(server: Server, request: Request, close: bool, args: argparse.Namespace) -> dict:
    if close:
        request = Request(request.method, request.path, request.body, {**request.headers, **CLOSE})
    server.settle()
    before = server.cpu_seconds()
    run = run_wrk(
        server.base, request, duration=args.duration, connections=args.connections, threads=2
    )
    run["cpu_us_per_request"] = (server.cpu_seconds() - before) / max(run["requests"], 1) * 1e6
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "3")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "2")))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    parser.add_argument("--workers", default=f"2,{2 * (os.cpu_count() or 1) + 1}")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    exit_on_sigterm()
    bench_environment(port, sqlite_path=OUT / "servers.sqlite3")
    import django

    django.setup()
    from django.db import connection

    reset_database()
    creds = fixtures.apply_config(
        fixtures.bench_config(fixtures.available_sections()), OUT / "config.yaml"
    )
    connection.close()
    worker_counts = [int(w) for w in args.workers.split(",")]
    setups = [
        (name, workers)
        for workers in worker_counts
        for name in candidates(port, workers)
        if not args.only or name in args.only.split(",")
    ]
    results: dict[str, dict[str, list[float]]] = {}
    p99: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    paths = None
    for round_index in range(args.rounds):
        order = setups if round_index % 2 == 0 else setups[::-1]
        for name, workers in order:
            command, extra = candidates(port, workers)[name]
            key = f"{name}, {workers} workers"
            env = {**os.environ, **extra}
            with Server(env, OUT / "servers.log", command=command) as server:
                if paths is None:
                    paths = requests_for(server.base, creds)
                for path in PATHS:
                    for close in (False, True):
                        column = f"{path}{' close' if close else ''}"
                        run = measure(server, paths[path], close, args)
                        errors = sum(run["errors"].values())
                        rate = report.req_per_s(run) if not errors else -report.req_per_s(run)
                        results.setdefault(key, {}).setdefault(column, []).append(round(rate, 1))
                        worst = run["latency_us"]["percentiles"]["99"] / 1000
                        cpu.setdefault(key, {}).setdefault(column, []).append(
                            round(run["cpu_us_per_request"], 1)
                        )
                        worst_by_column = p99.setdefault(key, {})
                        worst_by_column[column] = max(worst_by_column.get(column, 0), worst)
                        print(
                            f"[servers {time.strftime('%H:%M:%S')}] {key} {column}: "
                            + report.one_line(run),
                            flush=True,
                        )
    load = float(Path("/proc/loadavg").read_text().split()[0])
    data = {
        "results": results,
        "p99_ms": p99,
        "cpu_us_per_request": cpu,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "loadavg_1m_at_end": load,
    }
    (OUT / "servers.json").write_text(json.dumps(data, indent=2) + "\n")
    columns = [f"{p}{c}" for p in PATHS for c in ("", " close")]
    lines = [
        "| Server | " + " | ".join(columns) + " |",
        "|---|" + "--:|" * len(columns),
    ]
    for key, row in results.items():
        cells = []
        for column in columns:
            rates = row.get(column, [])
            mean = sum(abs(r) for r in rates) / len(rates) if rates else 0
            flag = "!" if any(r < 0 for r in rates) else ""
            us = cpu[key][column]
            cells.append(f"{mean:,.0f}{flag} / {min(us):.0f} µs ({p99[key][column]:.0f} ms)")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    (OUT / "servers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
