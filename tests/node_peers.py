"""Client libraries from the npm registry (``tests/node/package.json``, pinned and locked),
installed once into ``var/node-peers/`` and run with the machine's Node.js by the tests that
talk to them. Tests skip, saying why, where Node.js or npm is missing or the registry cannot be
reached."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).parent / "node"
TARGET = Path(__file__).resolve().parents[1] / "var" / "node-peers"


def install() -> Path:
    """``var/node-peers`` with ``npm ci`` done for the current lock file (one installer at a
    time across test workers; skipped when the installed lock is the same)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip(
            "Node.js and npm are needed for the npm client libraries (apt install nodejs npm)"
        )
    TARGET.mkdir(parents=True, exist_ok=True)
    with open(TARGET / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock_file = (SOURCE / "package-lock.json").read_bytes()
        installed = TARGET / "node_modules" / ".package-lock.json"
        if not installed.exists() or (TARGET / "package-lock.json").read_bytes() != lock_file:
            for name in ("package.json", "package-lock.json"):
                shutil.copy(SOURCE / name, TARGET / name)
            result = subprocess.run(
                ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=TARGET,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                pytest.skip(f"npm ci failed (no registry?): {result.stderr.strip()[-300:]}")
    for script in SOURCE.glob("*.mjs"):
        shutil.copy(script, TARGET / script.name)
    return TARGET


def run(script: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run ``tests/node/<script>`` with ``payload`` as JSON on stdin; its JSON answer."""
    result = subprocess.run(
        ["node", script],
        cwd=TARGET,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
