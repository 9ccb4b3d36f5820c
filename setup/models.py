"""One-time setup links for the first administrator (only a keyed hash of each is stored)."""

from __future__ import annotations

from django.db import models


class SetupToken(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"setup token {self.pk}"
