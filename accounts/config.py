"""The ``users`` section of ``manage.py apply``.

    users:
      - username: alice
        email: alice@example.com
        password: "a long passphrase"   # checked by the password policy
        name: Alice
        mfa_required: true

Other apps add their own fields to it from their ``ready()`` (roles: ``roles``; mfa: ``mfa``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts import services
from accounts.models import User
from core.declarative import Result, Section, add_section, boolean, text

USER_SCHEMA: dict[str, Callable[[Any], Any]] = {
    "username": text,
    "email": text,
    "password": text,
    "name": text,
    "is_active": boolean,
    "mfa_required": boolean,
}


def apply_users(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        fields = {k: v for k, v in entry.items() if k != "username"}
        user = User.objects.filter(username=entry["username"]).first()
        if user is None:
            user = services.user_create(
                actor=result.actor, meta=result.meta, username=entry["username"], **fields
            )
            result.created("users", user.username, {"id": str(user.pk)})
            result.changes.append(f"created user {user.username}")
        elif services.user_update(actor=result.actor, meta=result.meta, user=user, **fields):
            result.changes.append(f"updated user {user.username}")


def export_users() -> list[dict[str, Any]]:
    """Every user, by username, without a password; empty names and emails left out."""
    entries = []
    for user in User.objects.order_by("username"):
        entry: dict[str, Any] = {"username": user.username}
        entry.update({k: getattr(user, k) for k in ("email", "name") if getattr(user, k)})
        entry.update(is_active=user.is_active, mfa_required=user.mfa_required)
        entries.append(entry)
    return entries


def register() -> None:
    """Add the ``users`` section (clients, which oauth adds, come before it)."""
    add_section(Section("users", dict(USER_SCHEMA), "username", apply_users, export=export_users))
