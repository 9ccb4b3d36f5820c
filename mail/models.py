"""The outbox: every message is a row, written in the transaction of the change that causes it
(a reset link exists together with the mail that carries it, or neither does), then sent once
by ``mail.tasks.send_task``. The content is encrypted at rest (it may carry a one-time link)
and emptied once sent; the row stays as the record of what went where."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)  # the template: "password_reset", ...
    to = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    content = models.TextField(blank=True)  # core.crypto.encrypt of the JSON subject/text/html

    class Meta:
        indexes = [models.Index(fields=["sent_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


class KnownOrigin(models.Model):
    """A device and network a user has signed in from (``mail.notices.signed_in``): a sign-in
    from one not listed is reported to the holder. Only a keyed hash of the origin is kept."""

    user_id = models.BigIntegerField(db_index=True)  # accounts stands above this app
    origin_hash = models.CharField(max_length=64)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "origin_hash"], name="mail_origin_once")
        ]

    def __str__(self) -> str:
        return f"origin of user {self.user_id}"
