"""Writes to users."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from audit.services import delete_recorded

USER_FIELDS = ("email", "name", "is_active", "mfa_required")


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


@transaction.atomic
def user_create(*, username: str, password: str | None = None, **fields: Any) -> User:
    user = User(username=username, **{k: v for k, v in fields.items() if k in USER_FIELDS})
    if password is not None:
        _validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, password: str | None = None, **fields: Any) -> bool:
    """Set the named fields; returns whether anything changed (a same password is no change)."""
    changed = False
    for key in USER_FIELDS:
        if key in fields and getattr(user, key) != fields[key]:
            setattr(user, key, fields[key])
            changed = True
    if password is not None and not user.check_password(password):
        _validate_password(password, user)
        user.set_password(password)
        changed = True
    if changed:
        user.full_clean(exclude=["password"])
        user.save()
    return changed


@transaction.atomic
def user_delete(*, user: User, actor: str, request: HttpRequest | None = None) -> dict[str, int]:
    """Delete ``user`` and everything that is theirs, recorded as ``user.deleted`` (by
    ``actor``, as the audit log names who acted). Their tokens, refresh tokens, sign-in
    contexts, second factors, API keys and role assignments go with the row (each is a cascade
    of it), so every token stops at once, and a console session of theirs finds no user on its
    next request. Returns how many rows of each kind went (``{"oauth2_provider.AccessToken":
    2, ...}``, the user's own row included); the audit event lists the same counts."""
    return delete_recorded(user, "user.deleted", actor=actor, target=user.username, request=request)
