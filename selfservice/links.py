"""Password reset and e-mail verification by one-time links sent by mail.

A link is ``<ISSUER_URL>/password/reset/<token>`` or ``/email/verify/<token>``: a random
256-bit token of which only a keyed hash is stored (``selfservice.models.Link``), valid once,
until it expires, and only while nothing it depends on changed:

- a reset link (``PASSWORD_RESET_SECONDS``, 30 min) dies with any password change (its
  ``password_state`` no longer matches) and with a newer reset link of the same user;
- a verification link (``EMAIL_VERIFY_SECONDS``, 3 days) is for the address it was sent to and
  dies when the user's address changes, and with a newer verification link.

``password_reset_request`` does the same work whatever the address (it renders the message
either way; the send happens after the response): the page cannot tell whether an account has
that address. Completing a reset sets the password through ``oauth.services.user_set_password``
(every refresh token and access token of the user ends, and the password change signs out
every browser session: Django's session hash), and the user signs in afresh: with a second
factor, that factor is asked again. Every step is audited (never the token).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts import services as account_services
from accounts.models import User
from audit.models import AuditEvent
from audit.services import record
from core.actors import SystemActor
from core.crypto import keyed_hash
from core.request_meta import RequestMeta
from mail import notices
from mail import services as mail
from oauth import services as oauth_services
from selfservice.models import Link

PURPOSE = "selfservice-link"
VALID, USED, EXPIRED, UNKNOWN = "valid", "used", "expired", "unknown"


class LinkUnusable(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@dataclass(frozen=True)
class LinkState:
    state: str
    link: Link | None = None


def _password_state(user: User) -> str:
    return keyed_hash(user.password, "reset-password-state")


def _url(name: str, token: str) -> str:
    return settings.ISSUER_URL + reverse(name, args=[token])


def _issue(user: User, purpose: str, email: str, seconds: int) -> str:
    """A new link of ``purpose`` for ``user``; the older unused ones stop working."""
    Link.objects.filter(user=user, purpose=purpose, used_at=None).delete()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    Link.objects.create(
        purpose=purpose,
        user=user,
        email=email,
        token_hash=keyed_hash(token, PURPOSE),
        password_state=_password_state(user),
        created_at=now,
        expires_at=now + timedelta(seconds=seconds),
    )
    return token


def _state(link: Link | None, purpose: str) -> str:
    if link is None or link.purpose != purpose:
        return UNKNOWN
    if not link.user.is_active and purpose != Link.Purpose.REGISTRATION:
        return UNKNOWN
    if link.used_at is not None:
        return USED
    if timezone.now() >= link.expires_at:
        return EXPIRED
    if purpose == Link.Purpose.PASSWORD_RESET and link.password_state != _password_state(link.user):
        return UNKNOWN  # the password changed since: the link is gone
    if purpose in (Link.Purpose.EMAIL_VERIFY, Link.Purpose.REGISTRATION) and (
        link.email.casefold() != link.user.email.casefold()
    ):
        return UNKNOWN  # the address changed since
    return VALID


def link_state(token: str, purpose: str, *, for_update: bool = False) -> LinkState:
    rows = Link.objects.select_related("user")
    if for_update:
        rows = rows.select_for_update()
    link = rows.filter(token_hash=keyed_hash(token, PURPOSE)).first()
    return LinkState(_state(link, purpose), link)


def verification_state(token: str) -> LinkState:
    """A verification link's state, whether it confirms an address or a registration."""
    found = link_state(token, Link.Purpose.EMAIL_VERIFY)
    if found.link is not None and found.link.purpose == Link.Purpose.REGISTRATION:
        return link_state(token, Link.Purpose.REGISTRATION)
    return found


def _use(token: str, purpose: str) -> Link:
    found = link_state(token, purpose, for_update=True)
    if found.state != VALID or found.link is None:
        raise LinkUnusable(found.state)
    found.link.used_at = timezone.now()
    found.link.save(update_fields=["used_at"])
    return found.link


# --- password reset ---------------------------------------------------------------------------


def _reset_context(user: User | None, token: str) -> dict[str, Any]:
    return {
        "username": user.get_username() if user else "",
        "url": _url("selfservice:reset", token),
        "minutes": settings.PASSWORD_RESET_SECONDS // 60,
    }


@transaction.atomic
def password_reset_request(*, email: str, meta: RequestMeta | None = None) -> None:
    """Mail a reset link to every active account with the address ``email`` (none: nothing is
    sent, and the caller answers the same)."""
    users = list(User.objects.filter(email__iexact=email.strip(), is_active=True)[:10])
    if not users:
        # The same rendering a real request costs, for nobody.
        mail.render("password_reset", _reset_context(None, secrets.token_urlsafe(32)))
        record(
            "password.reset_requested",
            target=email,
            meta=meta,
            outcome=AuditEvent.Outcome.FAILURE,
            reason="unknown_address",
        )
        return
    for user in users:
        token = _issue(
            user, Link.Purpose.PASSWORD_RESET, user.email, settings.PASSWORD_RESET_SECONDS
        )
        mail.send(to=user.email, kind="password_reset", context=_reset_context(user, token))
        record("password.reset_requested", target=user.username, meta=meta)


@transaction.atomic
def password_reset_complete(*, token: str, password: str, meta: RequestMeta | None = None) -> User:
    """Set the new password of the link's user (Django's validators) and end their sessions
    and tokens; the link is used up. Raises ``LinkUnusable`` or ``ValidationError`` (nothing
    is written then)."""
    link = _use(token, Link.Purpose.PASSWORD_RESET)
    user = link.user
    actor = SystemActor(user.username)  # the holder of the mailbox, proved by the link
    oauth_services.user_set_password(actor=actor, meta=meta, user=user, password=password)
    Link.objects.filter(user=user, purpose=Link.Purpose.PASSWORD_RESET, used_at=None).delete()
    record("password.reset", actor=user.username, target=user.username, meta=meta)
    return user


# --- e-mail verification ----------------------------------------------------------------------


@transaction.atomic
def email_verification_send(
    *, user: User, meta: RequestMeta | None = None, purpose: str = Link.Purpose.EMAIL_VERIFY
) -> bool:
    """Mail a verification link to the user's address; False when there is nothing to verify
    (no address, or it is verified)."""
    if not user.email or user.email_verified:
        return False
    token = _issue(user, purpose, user.email, settings.EMAIL_VERIFY_SECONDS)
    context = {
        "username": user.username,
        "email": user.email,
        "url": _url("selfservice:verify", token),
        "days": settings.EMAIL_VERIFY_SECONDS // 86400 or 1,
    }
    mail.send(to=user.email, kind="email_verify", context=context)
    record("email.verification_sent", target=user.username, meta=meta)
    return True


@transaction.atomic
def email_verify(
    *, token: str, meta: RequestMeta | None = None, purpose: str = Link.Purpose.EMAIL_VERIFY
) -> User:
    """Mark the link's address verified, and a registered account enabled (``LinkUnusable``
    if the link is not valid)."""
    link = _use(token, purpose)
    user = link.user
    user.email_verified = True
    user.is_active = True
    user.save(update_fields=["email_verified", "is_active"])
    record("email.verified", actor=user.username, target=user.username, meta=meta)
    return user


# --- e-mail change ----------------------------------------------------------------------------


@transaction.atomic
def email_change_request(*, user: User, email: str, meta: RequestMeta | None = None) -> None:
    """Mail a confirmation link to the new address ``email``; nothing changes until it is
    followed (a newer request replaces the link)."""
    email = email.strip()
    if email.casefold() == (user.email or "").casefold():
        raise ValidationError({"email": [gettext("This is your address already.")]})
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [gettext("Another account has this address.")]})
    token = _issue(user, Link.Purpose.EMAIL_CHANGE, email, settings.EMAIL_VERIFY_SECONDS)
    context = {
        "username": user.username,
        "email": email,
        "url": _url("selfservice:email-change-confirm", token),
        "days": settings.EMAIL_VERIFY_SECONDS // 86400 or 1,
    }
    mail.send(to=email, kind="email_change", context=context)
    record("email.change_requested", actor=user.username, target=user.username, meta=meta)


@transaction.atomic
def email_change_confirm(*, token: str, meta: RequestMeta | None = None) -> User:
    """Apply the new address (confirmed: the link reached it) and tell the old one."""
    link = _use(token, Link.Purpose.EMAIL_CHANGE)
    user = link.user
    old = user.email
    if User.objects.filter(email__iexact=link.email).exclude(pk=user.pk).exists():
        raise LinkUnusable(UNKNOWN)  # taken by another account meanwhile
    account_services.user_update(
        actor=SystemActor(user.username),
        meta=meta,
        user=user,
        email=link.email,
        email_verified=True,
    )
    if old:
        notices.email_changed(user, old=old, meta=meta)
    record("email.changed", actor=user.username, target=user.username, meta=meta)
    return user


# --- self-registration ------------------------------------------------------------------------


def registration_domain_allowed(email: str) -> bool:
    domains = settings.REGISTRATION_DOMAINS
    return not domains or email.rsplit("@", 1)[-1].lower() in domains


@transaction.atomic
def register(
    *, username: str, email: str, password: str, meta: RequestMeta | None = None
) -> User | None:
    """A new account, disabled until the mailed link confirms its address
    (``REGISTRATION_OPEN``, ``REGISTRATION_DOMAINS``). An address that has an account already
    gets no second one and the caller answers the same (None: nothing was made)."""
    if not settings.REGISTRATION_OPEN:
        raise ValidationError(gettext("Registration is closed."))
    if not registration_domain_allowed(email):
        raise ValidationError({"email": [gettext("Addresses of this domain cannot register.")]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [gettext("A user with that username already exists.")]})
    if User.objects.filter(email__iexact=email).exists():
        record("user.registration_refused", target=email, meta=meta, reason="address_taken")
        return None
    user = account_services.user_create(
        actor=SystemActor("registration"),
        meta=meta,
        username=username,
        password=password,
        email=email,
        is_active=False,
    )
    email_verification_send(user=user, meta=meta, purpose=Link.Purpose.REGISTRATION)
    record("user.registered", actor=username, target=username, meta=meta)
    return user
