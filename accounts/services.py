"""Writes to users, each with its audit event in the same transaction.

Every service takes the acting ``core.actors.Actor`` and the request's ``RequestMeta``
keyword-only. Ending a user's sessions and tokens belongs to ``oauth``, which stands above this
app: disabling a user or setting their password is ``oauth.services.user_set_active`` /
``user_set_password``, which call these and then end the sessions in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import delete_recorded, record
from core.actors import Actor
from core.request_meta import RequestMeta

USER_FIELDS = ("email", "email_verified", "name", "is_active", "mfa_required")


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def _assign(user: User, password: str | None, fields: dict[str, Any]) -> bool:
    """Set the named fields and password, saved; whether anything changed (a same password is
    no change)."""
    changed = False
    if fields.get("email", user.email) != user.email and "email_verified" not in fields:
        fields = {**fields, "email_verified": False}  # a new address is not confirmed yet
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
def user_create(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    username: str,
    password: str | None = None,
    **fields: Any,
) -> User:
    user = User(username=username, **{k: v for k, v in fields.items() if k in USER_FIELDS})
    if password is not None:
        _validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    record("user.created", actor=actor.audit_name, meta=meta, target=user.username)
    return user


@transaction.atomic
def user_update(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    user: User,
    password: str | None = None,
    **fields: Any,
) -> bool:
    """Set the named fields (``USER_FIELDS``) and password; returns whether anything changed,
    audited as ``user.updated`` naming the fields given."""
    given = {k: v for k, v in fields.items() if k in USER_FIELDS}
    if not _assign(user, password, given):
        return False
    named = sorted([*given, "password"] if password is not None else given)
    record("user.updated", actor=actor.audit_name, meta=meta, target=user.username, fields=named)
    return True


@transaction.atomic
def user_set_active(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, active: bool
) -> bool:
    """Enable or disable ``user`` (``user.enabled``/``user.disabled``); whether it changed.
    Re-enabling needs a fresh second factor (disabling, a way out of trouble, does not)."""
    if active and not user.is_active:
        actor.require_fresh_factor()
    if not _assign(user, None, {"is_active": active}):
        return False
    event = "user.enabled" if active else "user.disabled"
    record(event, actor=actor.audit_name, meta=meta, target=user.username)
    return True


@transaction.atomic
def user_set_password(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, password: str
) -> None:
    """Set a new password (validated; needs a fresh second factor): ``user.password_set``."""
    actor.require_fresh_factor()
    _assign(user, password, {})
    record("user.password_set", actor=actor.audit_name, meta=meta, target=user.username)


@transaction.atomic
def password_change(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, current: str, new: str
) -> None:
    """The user changes their own password: ``current`` must be right, ``new`` passes the
    validators (and differs); stored with the first hasher (Argon2id), audited as
    ``account.password_changed``. Ending the other sessions is the caller's (they are tokens
    and browser sessions, apps above this one). Raises ``ValidationError`` by field
    (``current_password``, ``new_password``) with nothing written."""
    actor.require_fresh_factor()
    if not user.check_password(current):
        raise ValidationError({"current_password": [_("Your current password is not right.")]})
    if new == current:
        raise ValidationError({"new_password": [_("Choose a password you are not using now.")]})
    try:
        password_validation.validate_password(new, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    user.set_password(new)
    user.save(update_fields=["password"])
    record("account.password_changed", actor=actor.audit_name, meta=meta, target=user.username)


@transaction.atomic
def user_delete(*, actor: Actor, meta: RequestMeta | None = None, user: User) -> dict[str, int]:
    """Delete ``user`` and everything that is theirs, audited as ``user.deleted``. Their
    tokens, refresh tokens, sign-in contexts, second factors, API keys and role assignments go
    with the row (each is a cascade of it), so every token stops at once, and a console session
    of theirs finds no user on its next request. Returns how many rows of each kind went
    (``{"oauth2_provider.AccessToken": 2, ...}``, the user's own row included); the audit event
    lists the same counts."""
    return delete_recorded(
        user, "user.deleted", actor=actor.audit_name, target=user.username, meta=meta
    )
