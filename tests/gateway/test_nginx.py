"""examples/nginx/ end to end: the real nginx, our decision endpoint, and a tiny upstream."""

import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def gateway(live_server, upstream, tmp_path, orders_api):
    authserver = live_server.url.removeprefix("http://")
    port = free_port()
    config = (
        TEMPLATE.read_text()
        .replace("{{RUNDIR}}", str(tmp_path))
        .replace("{{AUTHSERVER}}", authserver.replace("localhost", "127.0.0.1"))
        .replace("{{AUTHSERVER_HOST}}", "localhost")
        .replace("{{UPSTREAM}}", upstream)
        .replace("{{PORT}}", str(port))
        .replace("{{API}}", orders_api.identifier)
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(config)
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE
    )
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
    yield base
    process.terminate()
    process.wait(timeout=10)


def test_nginx_enforces_decisions_end_to_end(gateway, tokens, settings, rate_limit_clock):
    settings.GATEWAY_RATE_LIMIT = 5
    reader = {"Authorization": f"Bearer {tokens['reader']}"}

    assert requests.get(f"{gateway}/api/orders/1", timeout=5).status_code == 401

    spoofed = {**reader, "X-Auth-Subject": "root", "X-Auth-Roles": "admin"}
    ok = requests.get(f"{gateway}/api/orders/1", headers=spoofed, timeout=5)
    assert ok.status_code == 200
    seen = ok.json()
    assert seen["x-auth-subject"] == "reader-svc"
    assert seen["x-auth-roles"] == "orders-reader"
    assert seen["x-auth-client"] == "reader-svc"

    assert requests.post(f"{gateway}/api/orders", headers=reader, timeout=5).status_code == 403

    statuses = [
        requests.get(f"{gateway}/api/orders/2", headers=reader, timeout=5).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429 and 200 in statuses
    limited = requests.get(f"{gateway}/api/orders/2", headers=reader, timeout=5)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
