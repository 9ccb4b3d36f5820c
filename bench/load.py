"""The server under test (gunicorn as production runs it) and the load generator (wrk)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "bench" / "lua"
MARKER = "BENCH_JSON "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with ``authserver/gunicorn.conf.py`` (its workers), stopped on exit."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        command = [gunicorn, "-c", "authserver/gunicorn.conf.py", "--no-control-socket"]
        command.append("authserver.wsgi:application")
        with self.log.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 (fixed argv)
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
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
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            try:
                if requests.get(f"{self.base}/bench/ceiling", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:g} s; see {self.log}")

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
            requests.get(f"{self.base}/bench/ceiling", timeout=timeout)
            fast = fast + 1 if time.monotonic() - started < 0.05 else 0

    def workers(self) -> list[int]:
        """The worker pids (children of the gunicorn master)."""
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

    def reset_peak_rss(self) -> bool:
        """Reset each worker's VmHWM (``clear_refs`` 5); False when the kernel refuses."""
        ok = True
        for pid in self.workers():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                ok = False
        return ok

    def peak_rss_mib(self) -> list[float]:
        """VmHWM of every worker, MiB."""
        peaks = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(round(int(line.split()[1]) / 1024, 1))
        return peaks


@dataclass
class Request:
    """What wrk sends: a static request, or refresh-token rotation chains from a pool file."""

    method: str
    path: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    pool: Path | None = None


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


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
    """One wrk run; returns the summary printed by ``bench/lua/report.lua``. ``script`` names
    another Lua script in ``bench/lua/`` and ``env`` adds to its environment."""
    script = script or ("refresh.lua" if request.pool else "static.lua")
    env = {
        **os.environ,
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
    completed = subprocess.run(  # noqa: S603 (fixed argv)
        command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    output = (completed.stdout + completed.stderr).strip()
    raise RuntimeError(f"wrk failed ({completed.returncode}): {output}")
