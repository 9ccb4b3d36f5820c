"""One-time links sent by mail (only a keyed hash of each token is stored)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Link(models.Model):
    class Purpose(models.TextChoices):
        PASSWORD_RESET = "password_reset"
        EMAIL_VERIFY = "email_verify"

    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    email = models.EmailField(max_length=254)  # the address the link was sent to
    token_hash = models.CharField(max_length=64, unique=True)
    # A keyed hash of the password hash when the link was made: a reset link dies with a
    # password change (ASVS 6.4.x), made by anyone anywhere.
    password_state = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose"])]

    def __str__(self) -> str:
        return f"{self.purpose} link {self.pk}"
