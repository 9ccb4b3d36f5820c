"""People who sign in. The custom user model exists from the first migration on."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person. ``name`` is the display name (OIDC ``name`` claim)."""

    name = models.CharField(max_length=255, blank=True)
    email_verified = models.BooleanField(
        default=False, help_text="The address was confirmed by a link sent to it."
    )
    mfa_required = models.BooleanField(
        default=False, help_text="Require a second factor for this user whatever the policy."
    )

    def __str__(self) -> str:
        return self.username
