"""LDAP / Active Directory servers people sign in with, and the local users they provisioned.

A ``Directory`` says how to reach the server (URLs tried in order, StartTLS or ``ldaps://``, the
CA), how to bind (``direct``: the user's DN from a template; ``search``: a service account finds
the user's entry first), which attributes make the profile, where the groups are and which
roles they map to. The service account's password is stored encrypted (``core.crypto``, Fernet),
never shown. A ``DirectoryLink`` ties a local user to one entry by its UUID (``entryUUID``,
AD's ``objectGUID``), never by its username alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Directory(models.Model):
    class BindMode(models.TextChoices):
        DIRECT = "direct", "direct (the user's DN from a template)"
        SEARCH = "search", "search (a service account finds the user)"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    urls = models.JSONField(default=list, help_text="ldap:// or ldaps:// URLs, tried in order.")
    start_tls = models.BooleanField(default=False)
    ca_file = models.CharField(max_length=500, blank=True)
    allow_plaintext = models.BooleanField(
        default=False, help_text="Allow ldap:// without StartTLS (passwords in clear)."
    )
    bind_mode = models.CharField(max_length=10, choices=BindMode.choices, default=BindMode.SEARCH)
    user_dn_template = models.CharField(max_length=500, blank=True)
    bind_dn = models.CharField(max_length=500, blank=True)
    bind_password_encrypted = models.TextField(blank=True)
    user_base = models.CharField(max_length=500, blank=True)
    user_filter = models.CharField(
        max_length=500, default="(&(objectClass=inetOrgPerson)(uid={username}))"
    )
    username_attribute = models.CharField(max_length=100, default="uid")
    email_attribute = models.CharField(max_length=100, default="mail", blank=True)
    name_attribute = models.CharField(max_length=100, default="cn", blank=True)
    uuid_attribute = models.CharField(max_length=100, default="entryUUID")
    group_base = models.CharField(max_length=500, blank=True)
    group_filter = models.CharField(max_length=500, default="(objectClass=groupOfNames)")
    group_member_attribute = models.CharField(max_length=100, default="member")
    group_name_attribute = models.CharField(max_length=100, default="cn")
    # [{"group": "<cn or DN>", "roles": ["role", ...]}, ...]
    role_mapping = models.JSONField(default=list, blank=True)
    provision = models.BooleanField(default=True)
    sync = models.BooleanField(default=False)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "directories"

    def __str__(self) -> str:
        return self.slug

    def mapped_roles(self) -> set[str]:
        return {role for rule in self.role_mapping for role in rule.get("roles", [])}

    def mapped_groups(self) -> set[str]:
        """The local groups the mapping names (their membership follows the directory's)."""
        return {group for rule in self.role_mapping for group in rule.get("groups", [])}


class DirectoryLink(models.Model):
    """A local user provisioned from (or matched to) one directory entry."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_link"
    )
    directory = models.ForeignKey(Directory, on_delete=models.CASCADE, related_name="links")
    entry_id = models.CharField(max_length=255)
    dn = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["directory", "entry_id"], name="directory_link_entry")
        ]

    def __str__(self) -> str:
        return f"{self.directory.slug}:{self.dn}"
