"""Writes of IP blocks: block, lift, purge. Each change and its audit event share a transaction,
and bump generation ``ipblocks`` so every process's fast check sees it on its next request."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from abuse import detection, networks
from abuse.models import AUTO, IpBlock
from abuse.selectors import GENERATION
from audit.models import AuditEvent
from audit.services import record
from core import generations, metrics
from core.actors import Actor
from core.models import Generation
from core.request_meta import RequestMeta

log = logging.getLogger(__name__)

SYSTEM = "system"  # the audit actor of automatic blocks
MAX_BLOCK_SECONDS = 90 * 86400


@dataclass(frozen=True)
class BlockResult:
    block: IpBlock
    created: bool  # False: an active block already covered the network (nothing changed)


def _lock() -> None:
    """Serialise writers of blocks on the generation row, so two workers blocking the same IP
    at once make one row (the second sees the first's)."""
    Generation.objects.get_or_create(name=GENERATION)
    list(Generation.objects.select_for_update().filter(name=GENERATION))


def ip_block(
    *,
    network: str,
    seconds: int,
    reason: str,
    actor: Actor | None,
    meta: RequestMeta | None = None,
) -> BlockResult:
    """Block ``network`` (an address or CIDR) for ``seconds``; ``actor`` None is automatic.

    Idempotent: when an active block already covers the network, nothing is extended or added.
    Networks on ``ABUSE_IP_ALLOWLIST`` are refused (``ValidationError``).
    """
    net = networks.network(network)
    if networks.overlaps_allowlist(net):
        raise ValidationError({"network": f"{net} is on the allow-list (ABUSE_IP_ALLOWLIST)."})
    if not 1 <= seconds <= MAX_BLOCK_SECONDS:
        raise ValidationError({"seconds": "A block lasts from 1 second to 90 days."})
    now = timezone.now()
    with transaction.atomic():
        _lock()
        for block in IpBlock.objects.filter(lifted_at__isnull=True, expires__gt=now):
            if networks.covers(ipaddress.ip_network(block.network), net):
                return BlockResult(block, created=False)
        block = IpBlock.objects.create(
            network=str(net),
            reason=reason[:255],
            created=now,
            expires=now + timedelta(seconds=seconds),
            created_by=actor.audit_name if actor else AUTO,
        )
        generations.bump(GENERATION)
        record(
            "ip.blocked",
            actor=actor.audit_name if actor else SYSTEM,
            target=block.network,
            outcome=AuditEvent.Outcome.SUCCESS,
            meta=meta,
            block=block.pk,
            reason=block.reason,
            seconds=seconds,
            expires=block.expires.isoformat(),
        )
    if actor is None:
        metrics.LOCKOUTS.labels(kind="ip").inc()
    return BlockResult(block, created=True)


def ip_block_auto(*, ip: str, failures: int, accounts: int) -> BlockResult | None:
    """The block abuse detection asks for (None: the address is allow-listed or not one)."""
    address = networks.address(ip)
    if address is None or networks.allowlisted(address):
        return None
    window = settings.ABUSE_IP_WINDOW
    return ip_block(
        network=str(address),
        seconds=settings.ABUSE_IP_BLOCK_SECONDS,
        reason=f"{failures} failed attempts on {accounts} accounts within {window} s",
        actor=None,
    )


def ip_unblock(*, block: IpBlock, actor: Actor, meta: RequestMeta | None = None) -> bool:
    """Lift an active block now; False when it had already ended (nothing changed)."""
    now = timezone.now()
    with transaction.atomic():
        _lock()
        block = IpBlock.objects.get(pk=block.pk)
        if not block.is_active(now):
            return False
        block.lifted_at, block.lifted_by = now, actor.audit_name
        block.save(update_fields=["lifted_at", "lifted_by"])
        generations.bump(GENERATION)
        record(
            "ip.unblocked",
            actor=actor.audit_name,
            target=block.network,
            meta=meta,
            block=block.pk,
            created_by=block.created_by,
        )
    net = ipaddress.ip_network(block.network)
    if net.num_addresses == 1:
        try:
            detection.forget(str(net.network_address))
        except Exception:  # the counters expire on their own
            log.warning("could not reset abuse counters of a lifted block", exc_info=True)
    return True


def ip_blocks_purge() -> int:
    """Delete blocks that ended more than ``ABUSE_IP_HISTORY_DAYS`` ago (the audit log keeps
    their story); returns how many. Active blocks are untouched, so no generation bump."""
    cutoff = timezone.now() - timedelta(days=settings.ABUSE_IP_HISTORY_DAYS)
    ended = Q(lifted_at__lt=cutoff) | Q(lifted_at__isnull=True, expires__lt=cutoff)
    deleted, _ = IpBlock.objects.filter(ended).delete()
    return deleted
