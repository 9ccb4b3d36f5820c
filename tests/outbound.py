"""Hosts that outbound fetches (``core.fetch``) meet in the tests: a real HTTPS server on
loopback with a certificate from a throwaway CA, and a bare listener that records whether
anyone connected at all."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# What a test server answers per path: (status, headers, body) or a behaviour name.
TRICKLE_SECONDS = 0.2  # "/slow" sends one byte this often, for much longer than the deadline


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a leaf certificate for ``localhost``, 127.0.0.1 and ::1: (ca, cert, key)."""
    now = datetime.now(tz=UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("authserver test CA"))
        .issuer_name(_name("authserver test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class _Handler(BaseHTTPRequestHandler):
    server: JwksHost.Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib's name
        host = self.server.host
        host.hits[self.path] += 1
        if self.path == "/jwks":
            body = json.dumps(host.jwks).encode()
            self._send(200, body, Content_Type="application/json", Cache_Control=host.cache)
        elif self.path == "/big":
            self._send(200, json.dumps({"keys": [], "pad": "x" * 100_000}).encode())
        elif self.path == "/redirect":
            self._send(302, b"", Location="/jwks")
        elif self.path == "/html":
            self._send(200, b"<html>not a key set</html>", Content_Type="text/html")
        elif self.path == "/garbage":
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
        elif self.path == "/slow":  # a small body, one byte at a time
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self._trickle()
        elif self.path == "/slow-headers":  # headers that never end
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self._trickle(b"X")
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802 - stdlib's name
        """Notifications (back-channel logout): recorded in ``posts``; ``/fail`` answers 500."""
        host = self.server.host
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        host.posts.append((self.path, self.headers.get("Content-Type", ""), body.decode()))
        self._send(500 if self.path == "/fail" else 200, b"")

    def _trickle(self, byte: bytes = b" ") -> None:
        ends = time.monotonic() + 30
        try:
            while time.monotonic() < ends:
                self.wfile.write(byte)
                self.wfile.flush()
                time.sleep(TRICKLE_SECONDS)
        except OSError:
            return  # the fetcher hung up


class JwksHost:
    """A threaded HTTPS server on 127.0.0.1 serving ``jwks`` at ``/jwks`` (and bad answers on
    other paths); ``hits`` counts the requests per path, ``posts`` keeps what was posted."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        host: JwksHost

    def __init__(self, cert: Path, key: Path) -> None:
        self.jwks: dict = {"keys": []}
        self.cache = "public, max-age=600"
        self.hits: Counter[str] = Counter()
        self.posts: list[tuple[str, str, str]] = []  # (path, content type, body)
        self._server = self.Server(("127.0.0.1", 0), _Handler)
        self._server.host = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"

    def start(self) -> JwksHost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Listener:
    """A TCP socket listening on 127.0.0.1 that nobody should ever connect to."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connections(self) -> int:
        """How many connections arrived (each is accepted and closed)."""
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self.sock.close()
