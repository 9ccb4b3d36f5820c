"""Slow clients cannot starve the server (issue 17): connections that never finish their
headers, or trickle a body a byte a second, cost a socket each, never a worker; ordinary
requests meanwhile answer as usual, and the stragglers are cut off at their timeout."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.ops.servers import ROOT, AppServer, migrated_embedded_env, seed

pytestmark = pytest.mark.live

STALLED = 200  # connections that never finish their headers
TRICKLING = 50  # connections that send a body one byte a second
WINDOW = 8.0  # seconds of ordinary traffic while they hold on
CLIENT = {
    "client_id": "machine",
    "name": "Machine",
    "type": "confidential",
    "grant_types": ["client_credentials"],
}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> dict:
    """``make run``'s mode (SQLite, no Redis), migrated, with client ``machine``."""
    workdir = tmp_path_factory.mktemp("slow")
    env = migrated_embedded_env(workdir)
    env["SECRET"] = seed(env, PASSWORD, [CLIENT])["machine"]
    env["WORKDIR"] = str(workdir)
    return env


@pytest.fixture
def server(embedded, request) -> Iterator[AppServer]:
    extra = {"WEB_CONCURRENCY": "2", **getattr(request, "param", {})}
    app = AppServer(embedded, Path(embedded["WORKDIR"]), **extra)
    app.start()
    yield app
    app.stop()


def connect(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(data)
    return sock


def trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for sock in socks:
            try:
                sock.send(b"x")
            except OSError:
                pass


def ordinary_requests(app: AppServer, secret: str, seconds: float) -> list[tuple[int, float]]:
    """Fresh connections, one at a time: a liveness probe, then a token request, in turn."""
    results = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for call in (
            lambda: requests.get(f"{app.base}/health/live", timeout=3),
            lambda: requests.post(
                f"{app.base}/o/token/",
                data={"grant_type": "client_credentials"},
                auth=("machine", secret),
                timeout=3,
            ),
        ):
            started = time.monotonic()
            try:
                status = call().status_code
            except requests.RequestException:
                status = 0
            results.append((status, time.monotonic() - started))
    return results


def test_ordinary_requests_answer_while_slow_clients_hold_connections(server, embedded):
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\n"  # and never the blank line
    body_head = (
        b"POST /o/token/ HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    stalled = [connect(server.port, head) for _ in range(STALLED)]
    trickling = [connect(server.port, body_head) for _ in range(TRICKLING)]
    stop = threading.Event()
    feeder = threading.Thread(target=trickle, args=(trickling, stop), daemon=True)
    feeder.start()
    try:
        results = ordinary_requests(server, embedded["SECRET"], WINDOW)
    finally:
        stop.set()
        feeder.join(timeout=5)
        for sock in stalled + trickling:
            sock.close()

    statuses = [status for status, _ in results]
    latencies = sorted(seconds for _, seconds in results)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if len(latencies) >= 100 else latencies[-1]
    assert len(results) >= 20, f"only {len(results)} requests answered in {WINDOW:.0f} s"
    assert set(statuses) == {200}, {status: statuses.count(status) for status in set(statuses)}
    assert p99 < 1.0, f"p99 {p99 * 1000:.0f} ms over {len(results)} requests"


def test_stalled_tls_handshakes_and_heads_do_not_hold_a_tls_server(embedded, tmp_path):
    """gunicorn terminating TLS: the handshake is read by the poller too."""
    subprocess.run(
        ["sh", str(ROOT / "scripts/dev-cert.sh"), str(tmp_path / "tls")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    ca = tmp_path / "tls/ca.pem"
    app = AppServer(
        embedded,
        tmp_path,
        TLS_CERTFILE=str(tmp_path / "tls/localhost.pem"),
        TLS_KEYFILE=str(tmp_path / "tls/localhost.key"),
    )
    app.start_tls(ca)
    context = ssl.create_default_context(cafile=str(ca))
    held: list[socket.socket] = []
    try:
        held += [connect(app.port, b"") for _ in range(100)]  # no ClientHello
        for _ in range(50):  # a handshake, then a head never finished
            tls = context.wrap_socket(
                socket.create_connection(("127.0.0.1", app.port), timeout=5),
                server_hostname="localhost",
            )
            tls.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
            held.append(tls)
        latencies = []
        for _ in range(20):
            started = time.monotonic()
            answer = requests.get(
                f"https://localhost:{app.port}/health/live", verify=str(ca), timeout=3
            )
            latencies.append(time.monotonic() - started)
            assert answer.status_code == 200
        assert max(latencies) < 1.0, latencies
    finally:
        for sock in held:
            sock.close()
        app.stop()


def test_chunked_pipelined_and_expect_continue_requests_are_served_whole(server, embedded):
    """The poller reads each request to its end by its framing before a thread parses it."""
    form = b"grant_type=client_credentials"
    credentials = requests.auth._basic_auth_str("machine", embedded["SECRET"]).encode()
    token = b"POST /o/token/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + credentials
    token += b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    chunked = token + b"Transfer-Encoding: chunked\r\n\r\n"
    chunked += b"%x\r\n%s\r\n0\r\n\r\n" % (len(form), form)
    probe = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    closing = b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with connect(server.port, chunked + probe + closing) as sock:  # three in one write
        answers = read_all(sock)
    # Django reads no chunked body (WSGI gives it no length): the endpoint answers it, then
    # the two probes behind it.
    assert answers.startswith(b"HTTP/1.1 400 ") and b'"error"' in answers, answers
    assert answers.count(b"HTTP/1.1 200 ") == 2, answers

    expecting = token + b"Expect: 100-continue\r\nContent-Length: %d\r\n" % len(form)
    with connect(server.port, expecting + b"Connection: close\r\n\r\n") as sock:
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(form)
        answer = read_all(sock)
    assert b"HTTP/1.1 200 " in answer and b'"access_token"' in answer, answer


def read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize(
    "server", [{"GUNICORN_HEADER_TIMEOUT": "2", "GUNICORN_BODY_TIMEOUT": "3"}], indirect=True
)
def test_a_late_head_or_body_is_answered_408_at_its_timeout(server):
    started = time.monotonic()
    late_head = connect(server.port, b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
    late_body = connect(
        server.port, b"POST /o/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"
    )
    assert read_all(late_head).startswith(b"HTTP/1.1 408 ")
    head_cut = time.monotonic() - started
    assert read_all(late_body).startswith(b"HTTP/1.1 408 ")
    body_cut = time.monotonic() - started
    assert 1.5 < head_cut < 4.5, head_cut
    assert 2.5 < body_cut < 5.5, body_cut


@pytest.mark.parametrize("server", [{"WEB_CONCURRENCY": "1"}], indirect=True)
def test_a_malformed_chunk_size_is_refused_and_the_worker_serves_on(server):
    """A negative chunk size once sent the worker's main loop round for ever (review)."""
    bad = connect(
        server.port,
        b"POST /o/token/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-6\r\n",
    )
    assert read_all(bad).startswith(b"HTTP/1.1 400 ")
    started = time.monotonic()
    assert requests.get(f"{server.base}/health/live", timeout=3).status_code == 200
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "server", [{"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "1"}], indirect=True
)
def test_an_oversized_head_or_body_is_refused_before_any_thread_waits_for_it(server):
    """Neither a head over 64 KiB nor a declared body over 1 MiB reaches a thread: the one
    thread stays free for an ordinary request while both senders hold their connections."""
    big_head = connect(
        server.port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 70_000
    )
    big_body = connect(
        server.port, b"POST /o/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
    )
    assert read_all(big_head).startswith(b"HTTP/1.1 431 ")
    answer = read_all(big_body)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"application/problem+json" in answer
    started = time.monotonic()
    assert requests.get(f"{server.base}/health/live", timeout=3).status_code == 200
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "server", [{"GUNICORN_CONNECTIONS_PER_IP": "3", "WEB_CONCURRENCY": "1"}], indirect=True
)
def test_connections_over_the_per_address_limit_are_refused(server):
    idle = [connect(server.port, b"") for _ in range(3)]
    try:
        deadline = time.monotonic() + 3  # the worker accepts the idle ones first
        while (refused := requests.get(f"{server.base}/health/live", timeout=5)).ok:
            assert time.monotonic() < deadline, "a fourth connection was served"
            time.sleep(0.2)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.5)
    assert requests.get(f"{server.base}/health/live", timeout=5).status_code == 200


def test_the_control_socket_is_this_instances_own_or_none(embedded, tmp_path):
    """gunicorn's default is one path per user: a second instance took the first one's."""
    env = {**embedded, "XDG_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)}
    first = AppServer(env, tmp_path)
    named = tmp_path / "instance-2.ctl"
    second = AppServer(env, tmp_path, GUNICORN_CONTROL_SOCKET=str(named))
    first.start()
    second.start()
    try:
        assert not (tmp_path / "gunicorn.ctl").exists()
        assert not (tmp_path / ".gunicorn").exists()
        assert named.is_socket()
    finally:
        first.stop()
        second.stop()
