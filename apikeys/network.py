"""Source addresses: the allow-list check (pure) and the one place the client IP is read.

``client_ip`` reads ``REMOTE_ADDR``; the trusted-proxy handling of the production setup replaces
its body, and every caller (token exchange, later the gateway) follows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings to networks; raise ValueError naming the first bad one.

    Host bits must be zero (``10.0.0.1/8`` is refused rather than silently widened).
    """
    networks = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a CIDR network")
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError:
            raise ValueError(f"{value!r} is not a CIDR network (e.g. 203.0.113.0/24)") from None
    return tuple(networks)


def ip_allowed(networks: tuple[Network, ...], ip: str | None) -> bool:
    """True when there is no allow-list, or ``ip`` is in one of its networks."""
    if not networks:
        return True
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def client_ip(meta: Mapping[str, object]) -> str | None:
    """The address of the party presenting a key: ``REMOTE_ADDR`` of the request's META
    (also what oauthlib's request headers hold, DOT copies META into them)."""
    value = meta.get("REMOTE_ADDR")
    return value if isinstance(value, str) and value else None
