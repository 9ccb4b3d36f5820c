"""The peer column of ``make bench``: panva's node-oidc-provider (issue 18).

``bench/peer/`` holds its ``package.json`` (``oidc-provider`` pinned), the ``package-lock.json``
and ``server.mjs``. ``install`` copies them to ``var/bench/peer/`` (never committed) and runs
``npm ci`` there from the npm registry when the installed tree is missing or older than the
lock; ``Peer`` runs ``server.mjs`` in one Node process (in-memory adapter) on its own port, with
a client-credentials client and a resource server that introspects, both with the secrets the
bench gives them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench.load import Request, Server, free_port

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "peer"
FILES = ("package.json", "package-lock.json", "server.mjs")
RESOURCE = "https://bench-api.example.test/"
FORM = "application/x-www-form-urlencoded"


def version() -> str:
    import json

    return json.loads((SOURCE / "package.json").read_text())["dependencies"]["oidc-provider"]


def install(target: Path) -> str:
    """Install the peer into ``target``; returns "" or why it is not available."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "not available: Node.js and npm are needed (Debian packages nodejs, npm)"
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(SOURCE / name, target / name)
    stamp = target / "node_modules" / ".package-lock.json"
    lock = target / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= (SOURCE / "package-lock.json").stat().st_mtime:
        return ""
    done = subprocess.run(  # noqa: S603 (fixed argv)
        [npm, "ci", "--no-audit", "--no-fund", "--omit=dev"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not lock.exists():
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return "not available: npm ci failed: " + " ".join(tail)
    return ""


class Peer:
    """node-oidc-provider's settings; ``server()`` runs it on a spare port."""

    def __init__(self, directory: Path, log: Path) -> None:
        self.directory = directory
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.m2m_secret = secrets.token_urlsafe(32)
        self.rs_secret = secrets.token_urlsafe(32)

    def server(self) -> Server:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "NODE_ENV": "production",
            "PORT": str(self.port),
            "PEER_PORT": str(self.port),
            "PEER_RESOURCE": RESOURCE,
            "PEER_M2M_SECRET": self.m2m_secret,
            "PEER_RS_SECRET": self.rs_secret,
            "PEER_COOKIE_KEY": secrets.token_urlsafe(32),
        }
        return Server(
            env,
            self.log,
            command=[shutil.which("node") or "node", "server.mjs"],
            probe="/.well-known/openid-configuration",
            cwd=self.directory,
        )

    def _basic(self, client_id: str, secret: str) -> str:
        from bench.fixtures import basic

        return basic(client_id, secret)

    def client_credentials(self) -> Request:
        """Its JWT access token (ES256, for ``RESOURCE``), as our client-credentials grant."""
        return Request(
            "POST",
            "/token",
            "grant_type=client_credentials&scope=api%3Aread",
            {"Content-Type": FORM, "Authorization": self._basic("bench-m2m", self.m2m_secret)},
        )

    def introspection(self) -> Request:
        """Introspection of an opaque client-credentials token by the resource server
        (node-oidc-provider refuses to introspect its JWTs)."""
        response = requests.post(
            f"{self.base}/token",
            data={
                "grant_type": "client_credentials",
                "scope": "api:read",
                "resource": f"{RESOURCE}opaque",
            },
            headers={"Authorization": self._basic("bench-m2m", self.m2m_secret)},
            timeout=10,
        )
        response.raise_for_status()
        token = response.json()["access_token"]
        return Request(
            "POST",
            "/token/introspection",
            urlencode({"token": token}),
            {"Content-Type": FORM, "Authorization": self._basic("bench-rs", self.rs_secret)},
        )
