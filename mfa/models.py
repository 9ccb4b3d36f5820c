"""Second factors (allauth's shape: one ``Authenticator`` with typed JSON data) and lockouts.

``data`` per type:
- ``totp``: ``{"secret": <Fernet token of the base32 seed>, "last_used_step": int}``; the step
  only moves forward, by a conditional UPDATE, so a code is accepted once (even in parallel);
- ``recovery_codes``: ``{"hashes": [keyed hash, ...], "used": [keyed hash, ...]}``: the unused
  codes, and the used ones of the same set (a second submission is "already used", no guess);
- ``webauthn``: ``{"credential_id": b64url, "public_key": b64url, "sign_count": int,
  "transports": [...]}``; a user may hold several, each with a ``name``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Authenticator(models.Model):
    class Type(models.TextChoices):
        TOTP = "totp", "Authenticator app"
        RECOVERY_CODES = "recovery_codes", "Recovery codes"
        WEBAUTHN = "webauthn", "Passkey or security key"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticators"
    )
    type = models.CharField(max_length=20, choices=Type.choices)
    data = models.JSONField(default=dict)
    name = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "type"],
                condition=Q(type__in=["totp", "recovery_codes"]),
                name="mfa_one_totp_and_one_recovery_set_per_user",
            )
        ]
        indexes = [models.Index(fields=["user", "type"])]

    def __str__(self) -> str:
        return f"{self.type} of user {self.user_id}"


class Lockout(models.Model):
    """Wrong second-factor codes of one user (NIST SP 800-63B-4 §3.2.2 rate limiting)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    failures = models.PositiveIntegerField(default=0)
    locks = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"lockout of user {self.user_id}"
