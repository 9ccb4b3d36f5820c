"""Trusted reverse proxies: ``X-Forwarded-For``/``-Proto`` count only when a proxy sent them.

``TRUSTED_PROXIES`` is a list of CIDRs (the load balancer, ingress). A request whose peer is
one of them gets its client address from ``X-Forwarded-For`` (the rightmost address that is
not itself a trusted proxy) and its scheme from ``X-Forwarded-Proto``. From anyone else those
headers are removed, so no view, log line, audit row or rate limit can be fooled by them. The
same rule holds for a forwarded client certificate (``core.tls.take``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from core import tls

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def parse_networks(cidrs: Iterable[str], setting: str = "TRUSTED_PROXIES") -> tuple[Network, ...]:
    """CIDRs of a setting; a bad one is a configuration error naming ``setting``."""
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting}: {exc}") from exc


def is_loopback_host(host: str | None) -> bool:
    """A loopback IP literal (``127.0.0.1``, ``[::1]``); a name is not (it may resolve anywhere)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def client_ip(variables: Mapping[str, Any]) -> str | None:
    """The client's address among a request's CGI variables: ``REMOTE_ADDR``, which
    ``TrustedProxies`` set from ``X-Forwarded-For`` only when a trusted proxy sent it."""
    return variables.get("REMOTE_ADDR") or None


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxies:
    """WSGI wrapper applied around both Django handlers (authserver/wsgi.py)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)

    def trusted(self, address: str | None) -> bool:
        ip = _address(address) if address else None
        return ip is not None and any(ip in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        forwarded = {name: environ.pop(name, None) for name in FORWARDED_HEADERS}
        trusted = self.trusted(environ.get("REMOTE_ADDR"))
        tls.take(environ, trusted=trusted)
        if trusted:
            chain = [part for part in (forwarded["HTTP_X_FORWARDED_FOR"] or "").split(",")]
            for hop in reversed(chain):
                ip = _address(hop)
                if ip is None:
                    break  # garbage in the chain: keep the proxy's own address
                environ["REMOTE_ADDR"] = str(ip)
                if not self.trusted(str(ip)):
                    break
            proto = (forwarded["HTTP_X_FORWARDED_PROTO"] or "").strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)
