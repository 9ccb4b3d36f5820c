"""Addresses and networks of IP blocks (pure, no ORM): parsing and the operators' allow-list."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError

from core.proxy import Network, parse_networks

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def address(value: str | None) -> Address | None:
    """An IP address (an IPv4-mapped IPv6 address as IPv4); None when ``value`` is not one."""
    if not value:
        return None
    try:
        ip = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def network(value: str) -> Network:
    """An address or CIDR typed by an admin (host bits must be zero); ``ValidationError`` else."""
    ip = address(value)
    if ip is not None:
        return ipaddress.ip_network(ip)
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not an IP address or network (e.g. 203.0.113.7 or 203.0.113.0/24)."
        ) from None


@lru_cache(maxsize=4)
def _allowlist(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(cidrs, "ABUSE_IP_ALLOWLIST")


def allowlist() -> tuple[Network, ...]:
    return _allowlist(tuple(settings.ABUSE_IP_ALLOWLIST))


def allowlisted(ip: Address) -> bool:
    return any(ip in net for net in allowlist())


def overlaps_allowlist(net: Network) -> bool:
    return any(net.version == a.version and net.overlaps(a) for a in allowlist())


def covers(outer: Network, inner: Network) -> bool:
    return outer.version == inner.version and inner.subnet_of(outer)
