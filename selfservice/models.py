"""What the account page shows that Django's session rows do not keep (``BrowserSession``: who a
browser session belongs to, from where and which device, since when and last seen), and the
one-time links sent by mail (``Link``, ``Invitation``: only a keyed hash of each token)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class BrowserSession(models.Model):
    """One signed-in browser session (the console, the sign-in page apps send people to).

    Bound one-to-one to Django's session row: when that row goes (sign-out, expiry swept by
    ``clearsessions``, the key rotated at the next sign-in) this one goes with it. ``id`` is
    the public name of the session on the account page; the session key never leaves the
    server. ``sid`` is the sign-in's ``accounts.session`` id, which the app sign-ins started
    from it carry (``oauth.AuthContext.sid``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField(
        "sessions.Session", on_delete=models.CASCADE, related_name="+", db_index=True
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sid = models.CharField(max_length=64, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    created_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "-last_seen"])]

    def __str__(self) -> str:
        return f"browser session {self.id}"


class Link(models.Model):
    class Purpose(models.TextChoices):
        PASSWORD_RESET = "password_reset"
        EMAIL_VERIFY = "email_verify"
        REGISTRATION = "registration"  # verifies the address and enables the account
        EMAIL_CHANGE = "email_change"  # sent to the new address, which applies once followed

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


class Invitation(models.Model):
    """An operator's invitation of an address, with roles and groups: the link leads to
    choosing a username and password (and a second factor when one is required)."""

    email = models.EmailField(max_length=254)
    roles = models.ManyToManyField("roles.Role", blank=True, related_name="+")
    groups = models.ManyToManyField("roles.Group", blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.CharField(max_length=200)  # the actor's audit name
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField()  # the latest link (a resend replaces the token)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.email}"

    def status(self, now: object) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:  # type: ignore[operator]
            return "expired"
        return "pending"
