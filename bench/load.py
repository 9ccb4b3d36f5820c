"""The server under test (started as ``make run`` starts it) and the load generator (wrk)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "bench" / "lua"
MARKER = "BENCH_JSON "


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit``, so that the servers a run started are stopped too."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# What ``make run`` and ``make run-prod`` start (the Makefile's SERVE): the same command and
# configuration file, so the benchmark measures the shipped worker class and count.
SERVE = ["gunicorn", "-c", "authserver/gunicorn.conf.py", "authserver.wsgi:application"]

# The ceiling (issue 18): a bare Django view (bench/ceiling_app.py) under gunicorn's sync
# worker, 2 processes, on a port of its own; the same whatever the shipped server is.
CEILING = ["gunicorn", "--worker-class", "sync", "--workers", "2", "--no-control-socket"]
CEILING_APP = "bench.ceiling_app:application"


def ceiling_command(port: int) -> list[str]:
    return venv_command([*CEILING, "--bind", f"127.0.0.1:{port}", CEILING_APP])


def venv_command(argv: list[str]) -> list[str]:
    """``argv`` with its program taken from this interpreter's virtualenv."""
    return [str(Path(sys.executable).with_name(argv[0])), *argv[1:]]


class Server:
    """The server as ``make run`` starts it (``SERVE``, or ``command``), stopped on exit. It
    is up once ``probe`` (a path) answers 200."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        command: list[str] | None = None,
        probe: str = "/bench/ceiling",
        cwd: Path = ROOT,
    ) -> None:
        self.env = env
        self.log = log
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.command = command or venv_command(SERVE)
        self.probe = probe
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        command = self.command
        with self.log.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 (fixed argv)
                command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}")
            try:
                if requests.get(f"{self.base}{self.probe}", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout:g} s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def settle(self, timeout: float = 120) -> None:
        """Wait until requests queued by the last run are served (the ceiling answers fast)."""
        deadline = time.monotonic() + timeout
        fast = 0
        while fast < 3 and time.monotonic() < deadline:
            started = time.monotonic()
            requests.get(f"{self.base}{self.probe}", timeout=timeout)
            fast = fast + 1 if time.monotonic() - started < 0.05 else 0

    def workers(self) -> list[int]:
        """The worker pids (children of the master process)."""
        if self.process is None:
            return []
        master = str(self.process.pid)
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat[stat.rindex(")") + 2 :].split()[1] == master:
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the master and its workers have used so far. Per request,
        it moves far less with the machine's load than the throughput does."""
        if self.process is None:
            return 0.0
        total = 0
        for pid in {self.process.pid, *self.processes()}:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    def processes(self) -> list[int]:
        """The processes that serve: the workers, or the one process when it has none."""
        if self.process is None:
            return []
        return self.workers() or [self.process.pid]

    def reset_peak_rss(self) -> bool:
        """Reset each worker's VmHWM (``clear_refs`` 5); False when the kernel refuses."""
        ok = True
        for pid in self.processes():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                ok = False
        return ok

    def peak_rss_mib(self) -> list[float]:
        """VmHWM of every worker, MiB."""
        peaks = []
        for pid in self.processes():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(round(int(line.split()[1]) / 1024, 1))
        return peaks


@dataclass
class Request:
    """What wrk sends: a static request, or what a Lua script in ``bench/lua/`` makes of a pool
    file (refresh-token chains, codes) or of its ``env`` (the sign-in journey)."""

    method: str
    path: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    pool: Path | None = None
    script: str = ""
    env: dict[str, str] = field(default_factory=dict)
    thread_per_connection: bool = False  # scripts whose requests follow each response

    def with_headers(self, **headers: str) -> Request:
        return replace(self, headers={**self.headers, **headers})

    def with_pool(self, pool: Path) -> Request:
        return replace(self, pool=pool)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _children_cpu_s() -> float:
    """CPU seconds of this process's ended and waited-for children (wrk, once it has exited;
    the servers run on until the end)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    base: str,
    request: Request,
    *,
    duration: int,
    connections: int,
    threads: int,
    script: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One wrk run; returns the summary printed by ``bench/lua/report.lua``, with the CPU time
    wrk itself used (``client_cpu_s``: the load generator shares the machine with the server).
    ``script`` names another Lua script in ``bench/lua/`` and ``env`` adds to its environment."""
    script = script or request.script or ("refresh.lua" if request.pool else "static.lua")
    if request.thread_per_connection:
        threads = connections
    env = {
        **os.environ,
        **request.env,
        **(env or {}),
        "BENCH_LUA_DIR": str(LUA_DIR),
        "BENCH_METHOD": request.method,
        "BENCH_BODY": request.body,
        "BENCH_THREADS": str(threads),
        "BENCH_POOL": str(request.pool or ""),
    }
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / script),
    ]
    for name, value in request.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(base + request.path)
    before = _children_cpu_s()
    completed = subprocess.run(  # noqa: S603 (fixed argv)
        command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    client_cpu_s = _children_cpu_s() - before
    if os.environ.get("BENCH_DEBUG") and completed.stderr:
        print(completed.stderr[-2000:], file=sys.stderr)
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            return {**json.loads(line[len(MARKER) :]), "client_cpu_s": client_cpu_s}
    output = (completed.stdout + completed.stderr).strip()
    raise RuntimeError(f"wrk failed ({completed.returncode}): {output}")
