"""The real nginx of examples/nginx/nginx.conf.template in front of our decision endpoint (and
token endpoint) and a tiny upstream API that echoes the headers it received; the fixtures that
start them are in conftest.py."""

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "nginx" / "nginx.conf.template"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.live,
    pytest.mark.skipif(
        not Path(NGINX).exists(), reason="nginx is not installed (apt-get install nginx)"
    ),
]


class Echo(BaseHTTPRequestHandler):
    """The upstream API: answers with the headers it received."""

    def _answer(self) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Nginx:
    http: str  # http://127.0.0.1:port
    https: str  # https://localhost:port, asking for an optional client certificate
    ca: str  # the CA of its server certificate
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start(rundir: Path, tls: tuple[Path, Path, Path], **placeholders: str) -> Nginx:
    """nginx from the template, its ``{{NAME}}`` placeholders filled; ready when it answers."""
    port, tls_port = free_port(), free_port()
    ca, cert, key = tls
    values = {
        "RUNDIR": str(rundir),
        "PORT": str(port),
        "TLS_PORT": str(tls_port),
        "TLS_CERT": str(cert),
        "TLS_KEY": str(key),
        **placeholders,
    }
    config = TEMPLATE.read_text()
    for name, value in values.items():
        config = config.replace("{{" + name + "}}", value)
    conf = rundir / "nginx.conf"
    conf.write_text(config)
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(rundir)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(base, timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                pytest.fail(f"nginx exited: {process.stderr.read().decode()}")
            time.sleep(0.1)
    return Nginx(base, f"https://localhost:{tls_port}", str(ca), process)
