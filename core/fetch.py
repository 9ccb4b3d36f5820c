"""The one guarded outbound HTTP fetcher (SECURITY.md item 86).

Every request this server makes to a URL someone else chose (a client's ``jwks_uri``, an
upstream identity provider's discovery, keys, token and user endpoints; later logout
notifications) goes through ``fetch`` (a GET, or a POST of form fields):
- ``https`` only (``http`` too with ``OUTBOUND_ALLOW_HTTP``, for development);
- the host is resolved once, and refused if any address it resolves to is not public unicast
  (loopback, private, shared, link-local, multicast, reserved, unspecified, in IPv4 and IPv6;
  an IPv4-mapped IPv6 address is judged as its IPv4) unless it is inside
  ``OUTBOUND_ALLOWED_NETWORKS``. The check comes before any connection is attempted, so a
  refused address answers at once and cannot tell a closed port from an open one;
- the connection goes to the checked address (no second lookup that DNS rebinding could
  answer differently), with the host name as TLS SNI, for the certificate check and in
  ``Host``; certificates are verified against ``OUTBOUND_CA_BUNDLE`` (default: certifi's);
- no redirects: a 3xx is a failure;
- one deadline over resolution, connect, TLS, headers and body (``DEADLINE_SECONDS``: a watchdog
  cuts the socket when it passes, whatever the peer trickles), and a cap on the body's bytes;
- every failure is one ``FetchError``, which callers map to their own error.

A POST (``form``) takes any 2xx answer (a notification such as a back-channel logout token may
be answered 204); a GET only a 200.

``fetch_json`` adds a per-process cache per URL (public documents such as key sets) honouring
``Cache-Control: max-age`` within [``MIN_CACHE_SECONDS``, ``MAX_CACHE_SECONDS``]. ``refresh=True``
(an unknown ``kid``) refetches at most once per ``REFETCH_SECONDS`` per URL, and a failed fetch
is remembered for as long, so nobody can make us fetch a URL more often than that.

``core`` imports no app of this project; settings are read through ``django.conf`` at call time.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

from core import clock

DEADLINE_SECONDS = 3.0
MAX_BYTES = 64 * 1024  # a JWKS with a dozen RSA keys is under 8 KiB
MIN_CACHE_SECONDS = 60
DEFAULT_CACHE_SECONDS = 300
MAX_CACHE_SECONDS = 86_400
REFETCH_SECONDS = 5.0
MAX_CACHED_URLS = 1_000
CHUNK_BYTES = 16_384

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# getaddrinfo cannot be given a timeout: it runs here, and the caller waits at most its deadline.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fetch-dns")


class FetchError(Exception):
    """An outbound fetch failed or was refused; the message says why (for logs, not clients)."""


class UnresolvableHost(FetchError):
    """The host name did not resolve in time (at registration, a name may not resolve yet)."""


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower-case, IDNA-encoded; an IPv6 literal without brackets
    port: int
    path: str  # with the query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _allowed_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.OUTBOUND_ALLOWED_NETWORKS))


def address_refused(address: str) -> bool:
    """Whether the fetcher refuses to connect to ``address`` (an IP literal)."""
    ip: Address = ipaddress.ip_address(address.split("%", 1)[0])  # no IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in _allowed_networks()):
        return False
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip.sixtofour is not None):
        return True  # deprecated site-local; 6to4 wraps an IPv4 address we cannot vouch for
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def target(url: str) -> Target:
    """The parsed URL, or ``FetchError`` for a scheme or form the fetcher refuses."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise FetchError(f"malformed URL: {exc}") from exc
    schemes = ("https", "http") if settings.OUTBOUND_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes:
        raise FetchError(f"{parts.scheme or 'no'} scheme: only {' or '.join(schemes)} is fetched")
    if not host or parts.username is not None or parts.password is not None:
        raise FetchError("a URL needs a host and no user information")
    default = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or default, path)


def resolve(host: str, port: int, ends: float) -> tuple[str, ...]:
    """Every address ``host`` resolves to (an IP literal is its own), before ``ends``."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=max(ends - time.monotonic(), 0.0))
    except TimeoutError as exc:
        raise UnresolvableHost(f"resolving {host} timed out") from exc
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} does not resolve") from exc
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def _checked_addresses(place: Target, ends: float) -> tuple[str, ...]:
    addresses = resolve(place.host, place.port, ends)
    refused = [address for address in addresses if address_refused(address)]
    if refused or not addresses:
        raise FetchError(f"{place.host} resolves to a refused address ({', '.join(refused)})")
    return addresses


def check_url(url: str) -> None:
    """At registration: ``FetchError`` if ``url`` could never be fetched (scheme, form, or a
    host resolving to a refused address). A name that does not resolve yet passes: every
    fetch checks again."""
    place = target(url)
    try:
        _checked_addresses(place, time.monotonic() + DEADLINE_SECONDS)
    except UnresolvableHost:
        return


class _Unreachable(FetchError):
    """No connection to that address (the host's next one may answer)."""


@dataclass(frozen=True)
class Send:
    """What a request carries besides the URL: ``form`` fields make it a POST
    (``application/x-www-form-urlencoded``, an upstream's token endpoint); ``headers`` are added
    (``Authorization``)."""

    accept: str = "application/json"
    form: dict[str, str] | None = None
    headers: dict[str, str] | None = None


def fetch(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    accept: str = "application/json",
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET ``url`` (POST ``form``) under every guard above; a 200 response or ``FetchError``."""
    ends = time.monotonic() + DEADLINE_SECONDS
    place = target(url)
    send = Send(accept, form, headers)
    failure: FetchError | None = None
    for address in _checked_addresses(place, ends):
        try:
            return _get(place, address, ends, max_bytes, send)
        except _Unreachable as exc:  # try the host's next address, within the same deadline
            failure = exc
    raise failure or FetchError("no address")


def _connection(place: Target, address: str, timeout: float) -> HTTPConnection:
    if place.scheme == "http":
        return HTTPConnection(address, place.port, timeout=timeout)
    return HTTPSConnection(
        address,
        place.port,
        timeout=timeout,
        cert_reqs="CERT_REQUIRED",
        ca_certs=settings.OUTBOUND_CA_BUNDLE or certifi.where(),
        server_hostname=place.host,
        assert_hostname=place.host,
    )


class _Watchdog:
    """Shuts the connection's socket down when the deadline passes, whatever the peer is
    trickling (a socket timeout bounds each read, not all of them)."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def guard(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown()

    def _cut(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def stop(self) -> None:
        """After this returns the watchdog touches the socket no more (it may be closed)."""
        self._timer.cancel()
        with self._lock:
            self._sock = None


def _get(place: Target, address: str, ends: float, max_bytes: int, send: Send) -> Fetched:
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise FetchError("deadline passed")
    conn = _connection(place, address, remaining)
    watchdog = _Watchdog(remaining)
    late = FetchError(f"{place.host}: over the {DEADLINE_SECONDS:g} s deadline")
    try:
        try:
            conn.connect()  # connect and TLS: each step within the socket timeout (remaining)
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            if isinstance(exc, ssl.SSLError | urllib3.exceptions.SSLError):
                raise FetchError(f"TLS with {place.host} failed: {exc}") from exc
            raise _Unreachable(f"cannot connect to {place.host} ({address})") from exc
        watchdog.guard(conn.sock)  # kept: http.client lets go of it once the response has it
        headers = {
            **(send.headers or {}),
            "Host": place.host_header,
            "Accept": send.accept,
            "Accept-Encoding": "identity",
            "User-Agent": "authserver",
        }
        body = None
        if send.form is not None:
            body = urlencode(send.form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        method = "GET" if body is None else "POST"
        conn.request(method, place.path, body=body, headers=headers, preload_content=False)
        response = conn.getresponse()
        try:
            fetched = _read(response, max_bytes, ends, any_success=body is not None)
        finally:
            response.close()
    except FetchError:
        raise
    except (OSError, ValueError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
        raise (late if watchdog.fired else FetchError(f"{place.host}: {exc!r}")) from exc
    finally:
        watchdog.stop()
        conn.close()
    if watchdog.fired:
        raise late  # the body looked complete only because the watchdog ended it
    return fetched


def _read(response: Any, max_bytes: int, ends: float, *, any_success: bool = False) -> Fetched:
    status = int(response.status)
    headers = {name.lower(): value for name, value in response.headers.items()}
    if 300 <= status < 400:
        raise FetchError(f"redirect ({status}) refused")
    if not (200 <= status < 300 if any_success else status == 200):
        raise FetchError(f"HTTP {status}")
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise FetchError("an encoded body is refused")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"body over {max_bytes} bytes")
    body = bytearray()
    while chunk := response.read(min(CHUNK_BYTES, max_bytes + 1 - len(body)), decode_content=False):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"body over {max_bytes} bytes")
        if time.monotonic() > ends:
            raise FetchError(f"over the {DEADLINE_SECONDS:g} s deadline")
    return Fetched(status, headers, bytes(body))


# --- the per-URL cache of JSON documents ------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    value: Any
    error: str | None
    fetched_at: float  # monotonic
    expires_at: float


_documents: dict[str, _Entry] = {}
_lock = threading.Lock()


def cache_seconds(cache_control: str) -> float:
    """How long to keep a document, from its ``Cache-Control``, within the bounds."""
    directives = {}
    for part in cache_control.lower().split(","):
        name, _, value = part.strip().partition("=")
        directives[name] = value.strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return MIN_CACHE_SECONDS
    age = directives.get("max-age", "")
    seconds = int(age) if age.isdigit() else DEFAULT_CACHE_SECONDS
    return float(min(max(seconds, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS))


def _remember(url: str, entry: _Entry) -> None:
    with _lock:
        if url not in _documents and len(_documents) >= MAX_CACHED_URLS:
            _documents.clear()
        _documents[url] = entry


def fetch_json(url: str, *, max_bytes: int = MAX_BYTES, refresh: bool = False) -> Any:
    """The JSON document at ``url``, from the cache while it is fresh; ``refresh`` asks for a
    new copy (granted at most once per ``REFETCH_SECONDS``). ``FetchError`` if unavailable."""
    now = clock.monotonic()
    entry = _documents.get(url)
    if entry is not None:
        recent = now - entry.fetched_at < REFETCH_SECONDS
        if entry.error is not None and recent:
            raise FetchError(f"{entry.error} (failed {now - entry.fetched_at:.1f} s ago)")
        if entry.error is None and (recent or (now < entry.expires_at and not refresh)):
            return entry.value
    try:
        fetched = fetch(url, max_bytes=max_bytes)
        value = json.loads(fetched.body)
    except (FetchError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, FetchError) else "the body is not JSON"
        if entry is not None and entry.error is None and now < entry.expires_at:
            _remember(url, _Entry(entry.value, None, now, entry.expires_at))
            return entry.value  # a failed refresh keeps the copy still fresh
        _remember(url, _Entry(None, reason, now, now))
        raise FetchError(reason) from exc
    ttl = cache_seconds(fetched.headers.get("cache-control", ""))
    _remember(url, _Entry(value, None, now, now + ttl))
    return value


def clear_cache() -> None:
    with _lock:
        _documents.clear()
