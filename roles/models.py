"""Roles, their permissions, and who holds them.

- ``Role``: a unique name, parents it inherits from (acyclic; checked by ``roles.services``),
  ``require_mfa``, ``builtin`` (made by a migration: its permissions are editable, it cannot be
  deleted).
- ``Permission``: one row per permission of a role, stored in canonical form
  (``roles.policy.canonical_permission``): a named permission or ``METHOD /path/pattern``.
- Assignments (``UserRole``, ``ClientRole``) share ``Assignment``: the role, an optional expiry
  (an expired assignment simply stops counting; nothing has to run at that time). API keys
  (issue 6) get their own ``Assignment`` subclass next to these.
- ``Group`` (issue 20): a unique name, parents (nested groups, acyclic like role parents), the
  roles it gives and its members (users). A member holds the roles of the group and of every
  ancestor group; a membership does not expire (an expiring role is a direct assignment).

Write through ``roles.services`` only: it checks the graph and bumps the ``roles`` generation.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from roles.policy import NAME_RE

validate_role_name = RegexValidator(
    rf"\A{NAME_RE.pattern}\Z",
    "A role name is 1-100 letters, digits or '_.:-', starting with a letter or digit.",
)
validate_group_name = RegexValidator(
    rf"\A{NAME_RE.pattern}\Z",
    "A group name is 1-100 letters, digits or '_.:-', starting with a letter or digit.",
)


class Role(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[validate_role_name])
    description = models.TextField(blank=True, default="")
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    require_mfa = models.BooleanField(
        default=False, help_text="A user holding this role must sign in with a second factor."
    )
    builtin = models.BooleanField(
        default=False, editable=False, help_text="Made by the server itself; cannot be deleted."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Permission(models.Model):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    value = models.CharField(max_length=600)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "value"], name="roles_permission_unique")
        ]

    def __str__(self) -> str:
        return f"{self.role.name}: {self.value}"


class Assignment(models.Model):
    """A role held by someone, optionally until ``expires_at``."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class UserRole(Assignment):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="roles_user_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role_id}"


class ClientRole(Assignment):
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "role"], name="roles_client_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.role_id}"


class Group(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[validate_group_name])
    description = models.TextField(blank=True, default="")
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    roles = models.ManyToManyField(Role, related_name="groups", blank=True)
    # ``member_groups``: ``AbstractUser.groups`` is Django's own (unused) auth groups.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="member_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
