"""API keys: long-lived credentials of a user or a client, stored as a keyed hash only.

- ``ApiKey``: exactly one owner (user XOR client), a public ``key_id``, the keyed hash of the
  current secret and, during a rotation's grace period, of the previous one; optional expiry and
  source networks; created / last-used bookkeeping; ``revoked_at`` (rows are kept for the audit
  trail and so a revoked key is recognised as such).
- ``ApiKeyRole``: the key's own roles (``roles.models.Assignment``); what a key may do at use
  time is these roles intersected with its owner's (``apikeys.selectors``).
- ``ApiKeyToken``: access tokens minted from a key by token exchange, so revoking the key
  revokes them.

Write through ``apikeys.services`` only: it bumps the ``apikeys`` generation (and ``roles`` for
role assignments) in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from roles.models import Assignment


class ApiKey(models.Model):
    key_id = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    secret_hash = models.CharField(max_length=64)
    previous_secret_hash = models.CharField(max_length=64, blank=True, default="")
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    allowed_ips = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, client__isnull=True)
                | Q(user__isnull=True, client__isnull=False),
                name="apikeys_one_owner",
            ),
            # A name identifies a live key of its owner (``apply`` finds keys by it).
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="apikeys_user_name_unique",
            ),
            models.UniqueConstraint(
                fields=["client", "name"],
                condition=Q(revoked_at__isnull=True),
                name="apikeys_client_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (ask_{self.key_id}_…)"


class ApiKeyRole(Assignment):
    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="role_assignments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "role"], name="apikeys_role_unique")]

    def __str__(self) -> str:
        return f"{self.key_id}: {self.role_id}"


class ApiKeyToken(models.Model):
    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken", on_delete=models.CASCADE, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.key_id}: token {self.access_token_id}"
