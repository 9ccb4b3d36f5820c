"""The audit log: one row per security event, hash-chained once sealed."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """A security event. Rows are append-only; ``seal()`` chains them in id order.

    ``hash`` = SHA-256 over the canonical JSON of the row's content and the previous row's hash,
    so editing, deleting or reordering a sealed row breaks every hash after it.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"
        DENIED = "denied"

    ts = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    actor = models.CharField(max_length=255, blank=True, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Batched events only (audit/batch.py): a spool ingested twice stores each event once.
    event_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%dT%H:%M:%SZ} {self.event} {self.outcome} {self.actor}"
