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
from core.actors import APPLY
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
            user = services.user_create(actor=APPLY, username=entry["username"], **fields)
            result.created("users", user.username, {"id": str(user.pk)})
            result.changes.append(f"created user {user.username}")
        elif services.user_update(actor=APPLY, user=user, **fields):
            result.changes.append(f"updated user {user.username}")


def register() -> None:
    """Add the ``users`` section (clients, which oauth adds, come before it)."""
    add_section(Section("users", dict(USER_SCHEMA), "username", apply_users))
