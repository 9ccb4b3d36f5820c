"""gunicorn's threaded worker, with each request read whole before a thread serves it.

The ``sync`` worker serves one connection at a time per process: six clients that open a
connection and never finish their headers stalled the whole server (issue 17). Here the
worker's main loop (one ``selectors`` poller) reads every connection without blocking: the
TLS handshake, the request head and a body of up to ``BODY_BUFFER_MAX`` bytes. Only a complete
request goes to the thread pool, so a slow or stalled client costs a socket, never a thread.

Environment (read when a worker starts):

- ``GUNICORN_HEADER_TIMEOUT`` (10 s): the request head must arrive within this time of the
  connection (or of its first byte on a kept-alive one);
- ``GUNICORN_BODY_TIMEOUT`` (30 s): the body within this time of the head; a client that
  misses either gets ``408`` and its connection closed. It also bounds each socket read and
  write of a thread (a body over ``BODY_BUFFER_MAX``, a client that never reads its response);
- ``GUNICORN_CONNECTIONS_PER_IP`` (0: no limit): open connections per client address and
  worker; one more is answered ``429`` and closed. Behind a proxy every connection comes from
  the proxy, so leave it at 0 there and let the proxy limit (``limit_conn`` in nginx).
"""

from __future__ import annotations

import errno
import os
import re
import selectors
import socket
import ssl
import time
from collections import Counter
from functools import partial

from gunicorn import http
from gunicorn import sock as gsock
from gunicorn.workers.gthread import TConn, ThreadWorker

BODY_BUFFER_MAX = 1 << 20  # DATA_UPLOAD_MAX_MEMORY_SIZE: a larger body is refused unread
HEAD_MAX = 64 << 10  # a larger head is refused before it reaches a thread
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
    b"Content-Length: 0\r\n\r\n"
)
_TOO_LARGE_BODY = (
    b'{"type": "https://authserver.dev/problems/content-too-large", "title": "Content too '
    b'large", "status": 413, "detail": "The request body is larger than 1048576 bytes."}'
)
BODY_TOO_LARGE = (
    b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
    b"Content-Type: application/problem+json\r\n"
    + f"Content-Length: {len(_TOO_LARGE_BODY)}\r\n\r\n".encode()
    + _TOO_LARGE_BODY
)
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
TOO_MANY = (
    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: 0\r\n\r\n"
)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def body_framing(head: bytes) -> tuple[int | None, bool, bool]:
    """``(content_length, chunked, expect_continue)`` of a request head; ``(None, False, _)``
    when the framing is unclear (both headers, a bad length): gunicorn's parser refuses those."""
    length: int | None = None
    codings: list[bytes] = []
    expect = False
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None, False, expect
            length = int(value)
        elif name == b"transfer-encoding":
            codings += [coding.strip() for coding in value.split(b",")]
        elif name == b"expect":
            expect = value == b"100-continue"
    if codings:
        chunked = codings[-1] == b"chunked" and length is None
        return None, chunked, expect
    return length or 0, False, expect


def chunked_complete(body: bytes | bytearray, pos: int = 0) -> tuple[bool, int]:
    """Whether ``body`` holds a whole chunked body from ``pos`` on (where the previous call
    stopped: each read parses only what is new, and nothing is copied), and where to go on
    from. A malformed one counts as whole: gunicorn's parser answers it."""
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return False, pos
        token = body[pos:eol].split(b";", 1)[0].strip()
        if not CHUNK_SIZE.fullmatch(token):
            return True, pos
        size = int(token, 16)
        if size == 0:
            return body.find(b"\r\n\r\n", eol) >= 0, pos  # the last chunk, then trailers
        if eol + 2 + size + 2 > len(body):
            return False, pos
        pos = eol + 2 + size + 2


class BufferedConn(TConn):
    """A connection whose request the main loop reads (``prefetched``) before a thread runs."""

    def __init__(self, cfg, sock, client, server) -> None:  # noqa: ANN001 - gunicorn's types
        super().__init__(cfg, sock, client, server)
        self.prefetched = bytearray()
        self.deadline = 0.0
        self.head_end = -1  # where the body starts in ``prefetched``, once the head is in
        self.chunk_pos = 0  # where the next chunk of a chunked body starts in ``prefetched``
        self.continued = False
        self.ready = False  # a whole request is buffered: the next enqueue runs it
        self.handshaken = not cfg.is_ssl
        self.io_timeout: float | None = None
        self.on_close = None
        self.linger = None  # the worker's: a graceful close lingers in the poller

    def init(self) -> None:
        if not self.initialized and self.cfg.is_ssl:
            # The main loop did the TLS handshake: gunicorn must not wrap the socket again.
            self.initialized = True
            self.parser = http.get_parser(self.cfg, self.sock, self.client)
        else:
            super().init()
        self.sock.settimeout(self.io_timeout)
        if self.prefetched:
            self.parser.unreader.unread(bytes(self.prefetched))
            self.prefetched = bytearray()

    def close(self, graceful: bool = False) -> None:
        if graceful and self.linger is not None:
            self.linger(self)  # gunicorn's own linger would block the main loop for 2 s
            return
        try:
            super().close(graceful)
        finally:
            release, self.on_close = self.on_close, None
            if release is not None:
                release()


class BufferedThreadWorker(ThreadWorker):
    """``gthread`` whose threads receive only requests already read in full."""

    def init_process(self) -> None:
        self.header_timeout = _seconds("GUNICORN_HEADER_TIMEOUT", 10)
        self.body_timeout = _seconds("GUNICORN_BODY_TIMEOUT", 30)
        self.per_ip = int(os.environ.get("GUNICORN_CONNECTIONS_PER_IP") or 0)
        self.per_ip_open: Counter[str] = Counter()
        self.reading: set[BufferedConn] = set()
        self.lingering: set[BufferedConn] = set()
        self.tls = gsock.ssl_context(self.cfg) if self.cfg.is_ssl else None
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        ip = client_addr[0] if isinstance(client_addr, tuple) else None
        if self.per_ip and ip is not None and self.per_ip_open[ip] >= self.per_ip:
            client_sock.setblocking(False)
            try:
                client_sock.send(TOO_MANY)
            except OSError:
                pass
            client_sock.close()
            return
        self.nr_conns += 1
        conn = BufferedConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.io_timeout = self.body_timeout
        conn.linger = self._linger
        if self.per_ip and ip is not None:
            self.per_ip_open[ip] += 1
            conn.on_close = partial(self._release, ip)
        if self.tls is not None:
            conn.sock = self.tls.wrap_socket(
                client_sock,
                server_side=True,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
            )
        self.enqueue_req(conn)

    def _release(self, ip: str) -> None:
        self.per_ip_open[ip] -= 1
        if self.per_ip_open[ip] <= 0:
            del self.per_ip_open[ip]

    def enqueue_req(self, conn: BufferedConn) -> None:
        """Hand a whole request to a thread; anything else waits in the poller first (a new
        connection, a kept-alive one that became readable, a pipelined request)."""
        if conn.ready:
            conn.ready = False
            super().enqueue_req(conn)
            return
        if conn.parser is not None:
            conn.prefetched[:0] = conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + self.header_timeout
        conn.head_end = -1
        conn.continued = False
        conn.chunk_pos = 0
        self.reading.add(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        self._readable(conn, conn.sock)

    def _readable(self, conn: BufferedConn, _fileobj: object) -> None:
        try:
            if not conn.handshaken:
                conn.sock.do_handshake()
                conn.handshaken = True
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    self._drop(conn)
                    return
                conn.prefetched += data
                if not (isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending()):
                    break
        except (BlockingIOError, ssl.SSLWantReadError):
            self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        except ssl.SSLWantWriteError:
            self.poller.modify(conn.sock, selectors.EVENT_WRITE, partial(self._readable, conn))
            return
        except OSError:
            self._drop(conn)
            return
        if self._complete(conn):  # None: refused and dropped
            self.poller.unregister(conn.sock)
            self.reading.discard(conn)
            conn.ready = conn.data_ready = True
            self.enqueue_req(conn)

    def _complete(self, conn: BufferedConn) -> bool | None:
        """Whether the request is whole (to a thread), not yet (read on), or None: refused
        here, unread, and the connection dropped (a head or a body over its limit, which no
        thread may wait for)."""
        buf = conn.prefetched
        if conn.head_end < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > HEAD_MAX:
                    self._drop(conn, HEAD_TOO_LARGE)
                    return None
                return False
            if end + 4 > HEAD_MAX:
                self._drop(conn, HEAD_TOO_LARGE)
                return None
            conn.head_end = end + 4
            conn.deadline = time.monotonic() + self.body_timeout
        length, chunked, expect = body_framing(bytes(buf[: conn.head_end]))
        body = len(buf) - conn.head_end
        if (length or 0) > BODY_BUFFER_MAX or body > BODY_BUFFER_MAX:
            self._drop(conn, BODY_TOO_LARGE)
            return None
        if chunked:
            start = max(conn.chunk_pos, conn.head_end)
            done, conn.chunk_pos = chunked_complete(buf, start)
        else:
            done = length is None or body >= length
        if not done and expect and not conn.continued:
            conn.continued = True  # gunicorn may send one more: clients skip every 1xx
            try:
                conn.sock.send(CONTINUE)
            except OSError:
                pass
        return done

    def _drop(self, conn: BufferedConn, reply: bytes | None = None) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.reading.discard(conn)
        self.nr_conns -= 1
        if reply is not None and conn.handshaken:
            try:
                conn.sock.send(reply)
            except OSError:
                pass
        conn.close()

    def _linger(self, conn: BufferedConn) -> None:
        """RFC 9112 section 9.6: send FIN, then read what the client still sends until it
        closes (2 s at most) so the kernel does not reset the connection under the response."""
        conn.linger = None
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (OSError, ValueError, KeyError):
            conn.close()
            return
        conn.deadline = time.monotonic() + 2.0
        self.lingering.add(conn)

    def _drain(self, conn: BufferedConn, _fileobj: object) -> None:
        try:
            while conn.sock.recv(65536):
                pass
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except OSError:
            pass
        self._unlinger(conn)

    def _unlinger(self, conn: BufferedConn) -> None:
        self.lingering.discard(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        conn.close()

    def murder_pending(self) -> None:
        """Also close the connections whose request is late (``408``), and, once the worker
        stops, those that have sent nothing."""
        super().murder_pending()
        now = time.monotonic()
        for conn in list(self.reading):
            if conn.deadline <= now:
                self._drop(conn, REQUEST_TIMEOUT if conn.prefetched else None)
            elif not self.alive and not conn.prefetched:
                self._drop(conn)
        for conn in list(self.lingering):
            if conn.deadline <= now:
                self._unlinger(conn)
