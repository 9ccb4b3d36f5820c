"""The first administrator: one-time setup links and the account they create.

- ``administrator_exists``: an active user holds the built-in ``superadmin`` role.
- ``issue_link``: a fresh random token (older unused ones stop working), stored only as a keyed
  hash (``core.crypto.keyed_hash``), valid ``SETUP_LINK_SECONDS`` (24 h) and once; returns
  ``<ISSUER_URL>/setup/<token>`` to be shown to the operator once (never audited or logged).
- ``link_state``: whether a token may still be used (``VALID``, ``USED``, ``EXPIRED``,
  ``UNKNOWN``).
- ``create_administrator``: the account (Django's password validators, the Argon2id hasher)
  holding ``superadmin``, consuming the token when one is given; audited ``setup.admin_created``
  in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import services as account_services
from audit.services import record
from core.actors import SystemActor
from core.crypto import keyed_hash
from core.request_meta import RequestMeta
from roles import services as role_services
from roles.models import UserRole
from roles.services import AssignmentSpec
from setup.models import SetupToken

SUPERADMIN = "superadmin"
SETUP_LINK_SECONDS = 24 * 3600
PURPOSE = "setup-link"
VALID, USED, EXPIRED, UNKNOWN = "valid", "used", "expired", "unknown"
# Who creates the administrator, as the deployment itself (audit names).
LINK = SystemActor("setup-link")
COMMAND = SystemActor("manage.py")


def administrator_exists() -> bool:
    now = timezone.now()
    return (
        UserRole.objects.filter(role__name=SUPERADMIN, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exists()
    )


def link_url(token: str) -> str:
    return f"{settings.ISSUER_URL}/setup/{token}"


@transaction.atomic
def issue_link() -> str:
    """A new setup link; every older unused one stops working."""
    SetupToken.objects.filter(used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    SetupToken.objects.create(token_hash=keyed_hash(token, PURPOSE), created_at=timezone.now())
    record("setup.link_issued")
    return link_url(token)


def _find(token: str, *, for_update: bool = False) -> SetupToken | None:
    rows = SetupToken.objects.select_for_update() if for_update else SetupToken.objects
    return rows.filter(token_hash=keyed_hash(token, PURPOSE)).first()


def _state(row: SetupToken | None) -> str:
    if row is None:
        return UNKNOWN
    if row.used_at is not None:
        return USED
    if timezone.now() - row.created_at > timedelta(seconds=SETUP_LINK_SECONDS):
        return EXPIRED
    return VALID


def link_state(token: str) -> str:
    return _state(_find(token))


class LinkUnusable(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@transaction.atomic
def create_administrator(
    *,
    username: str,
    email: str,
    password: str,
    token: str | None = None,
    meta: RequestMeta | None = None,
    actor: SystemActor = LINK,
) -> Any:
    """Create the administrator; with ``token``, only while that link is valid (it is used up).
    ``actor``: who made it, as the deployment itself (``LINK`` or ``COMMAND``). Raises
    ``LinkUnusable`` or ``ValidationError`` (nothing is written then)."""
    if token is not None:
        row = _find(token, for_update=True)
        state = _state(row)
        if state != VALID:
            raise LinkUnusable(state)
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    if get_user_model().objects.filter(username=username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    user = account_services.user_create(
        actor=actor, meta=meta, username=username, password=password, email=email
    )
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec(SUPERADMIN)])
    record("setup.admin_created", actor=actor.audit_name, meta=meta, target=user.username)
    return user
