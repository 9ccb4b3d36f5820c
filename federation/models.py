"""Upstream identity providers (Keycloak's identity brokering, authentik's sources) and the
upstream identities linked to local users.

An upstream identity is ``(provider, subject)``: the upstream's ``sub`` (GitHub: its numeric
user id), never an e-mail address. A user holds at most one identity per provider.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.crypto import decrypt, encrypt


class IdentityProvider(models.Model):
    class Kind(models.TextChoices):
        OIDC = "oidc", "OpenID Connect (discovery)"
        GITHUB = "github", "GitHub (OAuth 2)"
        GITLAB = "gitlab", "GitLab"
        GOOGLE = "google", "Google"
        MICROSOFT = "microsoft", "Microsoft Entra ID"

    class LinkBy(models.TextChoices):
        VERIFIED_EMAIL = "verified_email", "verified e-mail"
        NONE = "none", "none (explicit linking only)"

    class AuthMethod(models.TextChoices):
        BASIC = "client_secret_basic", "client_secret_basic"
        POST = "client_secret_post", "client_secret_post"
        PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt (our signing key)"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OIDC)
    issuer = models.URLField(max_length=500, blank=True, default="")
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.TextField(blank=True, default="")
    token_endpoint_auth_method = models.CharField(
        max_length=32, choices=AuthMethod.choices, default=AuthMethod.BASIC
    )
    scopes = models.JSONField(default=list, blank=True)
    link_by = models.CharField(max_length=16, choices=LinkBy.choices, default=LinkBy.NONE)
    provision = models.BooleanField(default=False)
    trust_mfa = models.BooleanField(default=False)
    role_mapping = models.JSONField(default=list, blank=True)
    # Clients whose users sign in only through upstream providers: their login page shows no
    # password form (and goes straight to the provider when only one lists the client).
    exclusive_clients = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def client_secret(self) -> str:
        return (
            decrypt(self.client_secret_encrypted).decode() if self.client_secret_encrypted else ""
        )

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_encrypted = encrypt(secret.encode()) if secret else ""


class LinkedIdentity(models.Model):
    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="links")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="linked_identities"
    )
    subject = models.CharField(max_length=255)
    email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="federation_link_sub"),
            models.UniqueConstraint(fields=["provider", "user"], name="federation_link_user"),
        ]
