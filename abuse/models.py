"""IP blocks: the system of record for blocked addresses (the cache only counts failures)."""

from __future__ import annotations

from datetime import datetime

from django.db import models

AUTO = "auto"  # created_by of the blocks that abuse detection makes


class IpBlock(models.Model):
    """One block of an address or network, from ``created`` until ``expires`` unless lifted.

    Rows are never extended: blocking what an active row already covers changes nothing, and a
    later block after this one ended is a new row (the history stays readable).
    """

    network = models.CharField(max_length=49, help_text="CIDR, e.g. 203.0.113.7/32")
    reason = models.CharField(max_length=255)
    created = models.DateTimeField()
    expires = models.DateTimeField()
    created_by = models.CharField(max_length=150, help_text='"auto" or the admin\'s username')
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["expires"], name="abuse_ipblock_expires")]

    def __str__(self) -> str:
        return f"{self.network} until {self.expires.isoformat()}"

    def is_active(self, now: datetime) -> bool:
        return self.lifted_at is None and self.expires > now

    def ended(self) -> datetime:
        return self.lifted_at or self.expires

    @property
    def automatic(self) -> bool:
        return self.created_by == AUTO
