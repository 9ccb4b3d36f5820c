"""Changes a signed-in user makes to their own account, each in one transaction with its audit
event. Every one needs a recent sign-in (``Myself.require_fresh_factor``: mfa's
``MFA_REAUTH_SECONDS`` rule for factor changes), asked before anything is read or written.

The services of the apps below do the domain work and audit it (profile: ``user.updated``,
password: ``account.password_changed``, app sign-ins: ``session.revoked``, applications:
``application.revoked``); browser sessions are this app's own (``account.session_ended``,
``account.signed_out_elsewhere``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import services as account_services
from accounts.models import User
from audit.services import record
from core.request_meta import RequestMeta
from oauth import services as oauth_services
from oauth.models import Client
from selfservice import selectors
from selfservice.models import BrowserSession


class SignInAgain(Exception):
    """The change needs a sign-in more recent than ``MFA_REAUTH_SECONDS``."""


class NotYours(Exception):
    """No live session or application of this user has that id (one answer for both)."""


@dataclass(frozen=True)
class Myself:
    """The signed-in user acting on their own account (``core.actors.Actor``); ``fresh``: the
    session's sign-in is recent enough for a change (mfa's rule)."""

    audit_name: str
    fresh: bool

    def require_fresh_factor(self) -> None:
        if not self.fresh:
            raise SignInAgain

    def require_covers(self, permissions: Iterable[str], *, what: str) -> None:
        raise PermissionDenied("a user's own account page hands out no permissions")


def _end_browser_sessions(rows: Iterable[BrowserSession]) -> int:
    """Delete the Django sessions of ``rows`` (their rows go with them); how many."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for row in rows:
        store().delete(row.session_id)
        ended += 1
    return ended


def _end_app_sessions(
    *, actor: Myself, meta: RequestMeta | None, user: User, families: Iterable[uuid.UUID]
) -> int:
    ended = 0
    for family in families:
        oauth_services.session_revoke(actor=actor, meta=meta, user=user, family=family)
        ended += 1
    return ended


def _families_of(user: User, now: datetime, sids: set[str]) -> list[uuid.UUID]:
    """Live app sign-ins of ``user`` started from the browser sign-ins ``sids``."""
    return [app.family for app, sid in selectors.app_sessions(user, now) if sid and sid in sids]


@transaction.atomic
def profile_update(*, actor: Myself, meta: RequestMeta | None, user: User, name: str) -> bool:
    """Set the display name (``user.updated``); whether it changed."""
    actor.require_fresh_factor()
    return account_services.user_update(actor=actor, meta=meta, user=user, name=name)


@transaction.atomic
def password_change(
    *,
    actor: Myself,
    meta: RequestMeta | None,
    user: User,
    current: str,
    new: str,
    keep_session: str | None,
) -> int:
    """Change the password (``accounts.services.password_change``: current password, the
    validators, Argon2id), then end every other browser session and every app sign-in and
    token of the user (ASVS 7.4.3; a changed password often answers a suspected compromise).
    The session ``keep_session`` stays. Returns how many browser sessions ended."""
    account_services.password_change(actor=actor, meta=meta, user=user, current=current, new=new)
    others = BrowserSession.objects.filter(user=user).exclude(session_id=keep_session)
    ended = _end_browser_sessions(list(others))
    oauth_services.user_sessions_end(user)
    return ended


@transaction.atomic
def session_end(
    *,
    actor: Myself,
    meta: RequestMeta | None,
    user: User,
    session_id: uuid.UUID,
    now: datetime,
    current_key: str | None,
) -> None:
    """Sign out one other browser session of the user, and the app sign-ins started from it
    (``account.session_ended``). The current session signs out with the sign-out button."""
    actor.require_fresh_factor()
    row = selectors.browser_sessions(user, now).filter(pk=session_id).first()
    if row is None or row.session_id == current_key:
        raise NotYours
    families = _families_of(user, now, {row.sid})
    apps = _end_app_sessions(actor=actor, meta=meta, user=user, families=families)
    _end_browser_sessions([row])
    record(
        "account.session_ended",
        actor=actor.audit_name,
        meta=meta,
        target=user.username,
        session=str(session_id),
        ip=row.ip or "",
        apps=apps,
    )


@transaction.atomic
def app_session_end(
    *, actor: Myself, meta: RequestMeta | None, user: User, family: uuid.UUID, now: datetime
) -> None:
    """End one app sign-in of the user (its refresh-token family: ``session.revoked``)."""
    actor.require_fresh_factor()
    live = {app.family for app, _sid in selectors.app_sessions(user, now)}
    if family not in live:
        raise NotYours
    _end_app_sessions(actor=actor, meta=meta, user=user, families=[family])


@transaction.atomic
def sign_out_elsewhere(
    *, actor: Myself, meta: RequestMeta | None, user: User, now: datetime, current_key: str | None
) -> tuple[int, int]:
    """End every browser session of the user but ``current_key`` and every app sign-in not
    started from it, revoking their refresh tokens (``account.signed_out_elsewhere``).
    Returns (browser sessions, app sign-ins) ended."""
    actor.require_fresh_factor()
    here = BrowserSession.objects.filter(user=user, session_id=current_key).first()
    keep = {here.sid} if here is not None and here.sid else set()
    families = [app.family for app, sid in selectors.app_sessions(user, now) if sid not in keep]
    apps = _end_app_sessions(actor=actor, meta=meta, user=user, families=families)
    others = list(BrowserSession.objects.filter(user=user).exclude(session_id=current_key))
    browsers = _end_browser_sessions(others)
    record(
        "account.signed_out_elsewhere",
        actor=actor.audit_name,
        meta=meta,
        target=user.username,
        sessions=browsers,
        apps=apps,
    )
    return browsers, apps


@transaction.atomic
def application_revoke(
    *, actor: Myself, meta: RequestMeta | None, user: User, client_pk: int, now: datetime
) -> Client:
    """Revoke everything an application holds for the user (``application.revoked``)."""
    actor.require_fresh_factor()
    held = {app.client.pk: app.client for app in selectors.applications(user, now)}
    client = held.get(client_pk)
    if client is None:
        raise NotYours
    oauth_services.user_client_revoke(actor=actor, meta=meta, user=user, client=client)
    return client
