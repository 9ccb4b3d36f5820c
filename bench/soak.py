"""``make soak``: mixed traffic for a bounded time, judged on errors and memory growth.

Starts gunicorn as ``make bench`` does (``authserver/gunicorn.conf.py``, its workers, DEBUG
off, no worker recycling) on a fresh bench database: SQLite in ``var/bench/`` by default, or
PostgreSQL (+ Redis) when ``DATABASE_URL`` (+ ``REDIS_URL``) are set, with the same guard as the
benchmark (the database name must contain "bench"; it is flushed). Then, from separate wrk
processes running at the same time: client-credentials tokens, introspection of a JWT, AuthZEN
evaluations, and password sign-ins (Argon2id) paced to a modest rate. A warm-up of the same mix
comes first; each worker's RSS is read from ``/proc`` when the server is idle after the warm-up,
once a second during the soak, and idle again at the end.

PASS needs: no 5xx, no other status than each kind's expected one, no socket errors or
timeouts, no worker restarted, and every worker's idle RSS after the soak at most
``--rss-growth-mib`` above its idle RSS after the warm-up. Writes ``var/bench/soak.{json,md}``
(and a copy named after the mode); exits 1 on FAIL.

Options are flags or ``SOAK_*`` environment variables (see ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"

sys.path.insert(0, str(ROOT))

from bench import fixtures  # noqa: E402
from bench.load import Request, Server, free_port, run_wrk  # noqa: E402
from bench.run import (  # noqa: E402
    bench_environment,
    build_targets,
    machine,
    reset_database,
    static_login,
)

SOCKET_ERRORS = ("connect", "read", "write", "timeout")


@dataclass(frozen=True)
class Kind:
    """One stream of the mix: which bench target, what it must answer, how hard to drive it."""

    name: str
    target: str
    expected_status: int
    connections: int
    delay_ms: int = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=int(env("SOAK_DURATION", "60")))
    parser.add_argument("--warmup", type=int, default=int(env("SOAK_WARMUP", "15")))
    parser.add_argument(
        "--connections",
        type=int,
        default=int(env("SOAK_CONNECTIONS", "4")),
        help="wrk connections for each of token, introspection and evaluation",
    )
    parser.add_argument(
        "--login-delay-ms",
        type=int,
        default=int(env("SOAK_LOGIN_DELAY_MS", "500")),
        help="pause before each sign-in on the one sign-in connection",
    )
    parser.add_argument("--workers", type=int, default=int(env("SOAK_WORKERS", "2")))
    parser.add_argument(
        "--rss-growth-mib",
        type=float,
        default=float(env("SOAK_RSS_GROWTH_MIB", "32")),
        help="largest allowed growth of a worker's idle RSS over the soak",
    )
    return parser.parse_args(argv)


def kinds(args: argparse.Namespace) -> list[Kind]:
    return [
        Kind("token", "token_client_credentials", 200, args.connections),
        Kind("introspection", "introspect_jwt", 200, args.connections),
        Kind("authzen", "authzen_evaluation", 200, args.connections),
        Kind("login", "password_login", 302, 1, args.login_delay_ms),
    ]


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """Every worker's RSS once a second, with the time since the soak started."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            elapsed = round(time.monotonic() - self.started_at, 1)
            for pid in self.server.workers():
                value = rss_mib(pid)
                if value is not None:
                    self.samples.setdefault(pid, []).append((elapsed, value))

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def drive(
    base: str, requests: dict[str, Request], mix: list[Kind], duration: int
) -> dict[str, dict[str, Any]]:
    """Every kind of the mix at once, each from its own wrk process, for ``duration`` s."""

    def one(kind: Kind) -> dict[str, Any]:
        return run_wrk(
            base,
            requests[kind.name],
            duration=duration,
            connections=kind.connections,
            threads=1,
            script="soak.lua",
            env={"SOAK_DELAY_MS": str(kind.delay_ms)},
        )

    with ThreadPoolExecutor(max_workers=len(mix)) as pool:
        runs = dict(zip((k.name for k in mix), pool.map(one, mix), strict=True))
    return runs


def summarise_kind(kind: Kind, run: dict[str, Any]) -> dict[str, Any]:
    statuses = {int(code): count for code, count in run.get("statuses", {}).items()}
    percentiles = run["latency_us"]["percentiles"]
    return {
        "expected_status": kind.expected_status,
        "connections": kind.connections,
        "delay_ms": kind.delay_ms,
        "requests": run["requests"],
        "req_s": round(run["requests"] / (run["duration_us"] / 1e6), 1),
        "p50_ms": round(percentiles["50"] / 1000, 2),
        "p99_ms": round(percentiles["99"] / 1000, 2),
        "statuses": {str(code): statuses[code] for code in sorted(statuses)},
        "server_errors": sum(n for code, n in statuses.items() if code >= 500),
        "unexpected": sum(n for code, n in statuses.items() if code != kind.expected_status),
        "socket_errors": {k: run["errors"][k] for k in SOCKET_ERRORS},
    }


def idle_rss(server: Server) -> dict[int, float | None]:
    """Each worker's RSS once queued requests are served (no Argon2 hash in flight)."""
    server.settle()
    time.sleep(1)
    return {pid: rss_mib(pid) for pid in server.workers()}


def judge(
    results: dict[str, Any], warmup: dict[str, Any], rss_rows: list[dict[str, Any]], bound: float
) -> list[dict[str, Any]]:
    checks = []
    for phase, rows in (("warm-up", warmup), ("soak", results)):
        server_errors = sum(row["server_errors"] for row in rows.values())
        unexpected = {name: row["unexpected"] for name, row in rows.items() if row["unexpected"]}
        sockets = sum(sum(row["socket_errors"].values()) for row in rows.values())
        checks += [
            {"check": f"{phase}: zero 5xx", "ok": server_errors == 0, "seen": server_errors},
            {
                "check": f"{phase}: only the expected status per kind",
                "ok": not unexpected,
                "seen": unexpected or 0,
            },
            {"check": f"{phase}: zero socket errors/timeouts", "ok": sockets == 0, "seen": sockets},
        ]
    restarted = [row["pid"] for row in rss_rows if row["end_mib"] is None]
    checks.append({"check": "no worker restarted", "ok": not restarted, "seen": restarted or 0})
    growths = [row["growth_mib"] for row in rss_rows if row["growth_mib"] is not None]
    checks.append(
        {
            "check": f"idle RSS growth per worker <= {bound:g} MiB",
            "ok": bool(growths) and max(growths) <= bound,
            "seen": max(growths) if growths else "no samples",
        }
    )
    return checks


def markdown(report: dict[str, Any]) -> str:
    m, s = report["machine"], report["settings"]
    lines = [
        f"Soak, {m['mode']}, commit {m['commit']}, {m['date']}:"
        f" {m['nproc']} CPUs ({m['cpu_model']}),"
        f" Linux {m['kernel']}, Python {m['python']};"
        f" gunicorn {s['workers']} buffered gthread workers;"
        f" {s['warmup_s']} s warm-up, then {s['duration_s']} s of mixed traffic;"
        f" load average {m['loadavg_1m_at_start']} before, {m['loadavg_1m_at_end']} after.",
        "",
        "| Kind | wrk connections | requests | req/s | p50 ms | p99 ms | statuses"
        " | socket errors |",
        "|---|--:|--:|--:|--:|--:|---|--:|",
    ]
    for name, row in report["kinds"].items():
        pause = f" (+{row['delay_ms']} ms pause)" if row["delay_ms"] else ""
        statuses = ", ".join(f"{code}: {n:,}" for code, n in row["statuses"].items()) or "none"
        lines.append(
            f"| {name} | {row['connections']}{pause} | {row['requests']:,} | {row['req_s']:,.1f}"
            f" | {row['p50_ms']} | {row['p99_ms']} | {statuses}"
            f" | {sum(row['socket_errors'].values())} |"
        )
    lines += [
        "",
        "| Worker | idle RSS after warm-up MiB | max RSS during soak MiB | idle RSS at end MiB"
        " | growth MiB |",
        "|---|--:|--:|--:|--:|",
    ]
    for row in report["rss"]["workers"]:
        lines.append(
            f"| {row['pid']} | {row['warmup_end_mib']} | {row['max_mib']} | {row['end_mib']}"
            f" | {row['growth_mib']} |"
        )
    lines += ["", "| Check | result | seen |", "|---|---|---|"]
    for check in report["checks"]:
        lines.append(
            f"| {check['check']} | {'ok' if check['ok'] else 'FAILED'} | {check['seen']} |"
        )
    lines += ["", f"**{report['verdict']}**"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    mode = bench_environment(free_port(), sqlite_path=OUT / "soak.sqlite3")
    os.environ["WEB_CONCURRENCY"] = str(args.workers)

    def log(message: str) -> None:
        print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)

    import django

    django.setup()
    from django.db import connection

    load_before = float(Path("/proc/loadavg").read_text().split()[0])
    log(f"mode {mode}, load average {load_before:.1f}: migrating and applying the bench config")
    reset_database()
    config = fixtures.bench_config(fixtures.available_sections(), sign_in_users=0)
    creds = fixtures.apply_config(config, OUT / "soak-config.yaml")
    connection.close()
    mix = kinds(args)

    with Server(dict(os.environ), OUT / "soak-gunicorn.log") as server:
        log(f"gunicorn up at {server.base}, workers {server.workers()}")
        targets = {t.name: t for t in build_targets(server.base, creds, None, "not used")}
        requests: dict[str, Request] = {}
        for kind in mix:
            if kind.target == "password_login":  # one connection: one account will do
                requests[kind.name] = static_login(server.base)
                continue
            target = targets[kind.target]
            if target.unavailable or target.request is None:
                raise SystemExit(f"{kind.name}: {target.unavailable or 'not available'}")
            requests[kind.name] = target.request
        log(f"warm-up: {args.warmup} s of the mix")
        warm_runs = drive(server.base, requests, mix, args.warmup)
        warmup = {k.name: summarise_kind(k, warm_runs[k.name]) for k in mix}
        start_rss = idle_rss(server)
        log(f"idle RSS after warm-up (MiB): {start_rss}; soak: {args.duration} s")
        sampler = RssSampler(server)
        sampler.start()
        try:
            runs = drive(server.base, requests, mix, args.duration)
        finally:
            sampler.stop()
        end_rss = idle_rss(server)
        log(f"idle RSS at the end (MiB): {end_rss}")

    results = {k.name: summarise_kind(k, runs[k.name]) for k in mix}
    rss_rows = []
    for pid, start in start_rss.items():
        end = end_rss.get(pid)
        peak = max((value for _, value in sampler.samples.get(pid, [])), default=None)
        rss_rows.append(
            {
                "pid": pid,
                "warmup_end_mib": start,
                "max_mib": peak,
                "end_mib": end,
                "growth_mib": round(end - start, 1)
                if start is not None and end is not None
                else None,
            }
        )
    checks = judge(results, warmup, rss_rows, args.rss_growth_mib)
    report = {
        "machine": {
            **machine(),
            "mode": mode,
            "loadavg_1m_at_start": load_before,
        },
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "workers": args.workers,
            "rss_growth_bound_mib": args.rss_growth_mib,
        },
        "kinds": results,
        "warmup": warmup,
        "rss": {
            "workers": rss_rows,
            "samples": {str(pid): values for pid, values in sampler.samples.items()},
        },
        "checks": checks,
        "verdict": "PASS" if all(c["ok"] for c in checks) else "FAIL",
    }
    text = markdown(report)
    (OUT / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    (OUT / "soak.md").write_text(text)
    for name in ("soak.json", "soak.md"):
        stem, suffix = name.split(".")
        shutil.copyfile(OUT / name, OUT / f"{stem}-{mode.replace('+', '-')}.{suffix}")
    print(text)
    log(f"{report['verdict']}: wrote var/bench/soak.json, var/bench/soak.md")
    return 0 if report["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
