"""Reads of IP blocks. ``blocked_seconds`` is the fast check every guarded request makes: a
per-process copy of the active blocks, reloaded when generation ``ipblocks`` moves (a block
or a lift bumps it), so it costs no query beyond the per-request generation read."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from abuse import networks
from abuse.models import IpBlock
from core import clock
from core.generations import ProcessCache
from core.proxy import Network

GENERATION = "ipblocks"
_active = ProcessCache(GENERATION, max_entries=1)


@dataclass(frozen=True)
class ActiveBlock:
    id: int
    network: Network
    expires: float  # Unix time


def _load_active() -> tuple[ActiveBlock, ...]:
    rows = IpBlock.objects.filter(lifted_at__isnull=True, expires__gt=timezone.now())
    return tuple(
        ActiveBlock(pk, ipaddress.ip_network(net), expires.timestamp())
        for pk, net, expires in rows.values_list("pk", "network", "expires")
    )


def active_blocks() -> tuple[ActiveBlock, ...]:
    return _active.get("active", _load_active)


def blocked_seconds(ip: str | None) -> int:
    """Seconds until ``ip`` may try again (0: not blocked). Allow-listed addresses never are."""
    blocks = active_blocks()
    if not blocks:
        return 0
    address = networks.address(ip)
    if address is None or networks.allowlisted(address):
        return 0
    now = clock.now()
    waits = [
        math.ceil(block.expires - now)
        for block in blocks
        if block.expires > now and address in block.network
    ]
    return max(waits, default=0)


def blocks_active(now: datetime) -> QuerySet[IpBlock]:
    return IpBlock.objects.filter(lifted_at__isnull=True, expires__gt=now)


def blocks_recent(now: datetime) -> QuerySet[IpBlock]:
    """Blocks that ended (expired or lifted) within ``ABUSE_IP_HISTORY_DAYS``, newest first."""
    since = now - timedelta(days=settings.ABUSE_IP_HISTORY_DAYS)
    ended = Q(lifted_at__isnull=False) | Q(expires__lte=now)
    recent = Q(lifted_at__gte=since) | Q(lifted_at__isnull=True, expires__gte=since)
    return IpBlock.objects.filter(ended & recent)
