"""Writes to users."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from accounts.selectors import live_token_count
from audit.services import record

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
def user_delete(*, actor: str, request: HttpRequest | None, user: User) -> int:
    """Delete ``user`` with their tokens, roles and factors (the rows cascade); audited as
    ``user.deleted`` with the number of live tokens that ended (``ended``: a key
    with "token" in it is redacted). Returns that number."""
    username, tokens = user.username, live_token_count(user=user)
    user.delete()
    record("user.deleted", actor=actor, request=request, target=username, ended=tokens)
    return tokens
