"""Invitations: an operator invites an address with roles and groups; the mailed link
(``<ISSUER_URL>/invitation/<token>``, only a keyed hash stored) leads to choosing a username
and password, then a second factor when the roles or the policy require one.

- ``invitation_create``: the actor must be allowed to hand out every role (the hierarchy
  guard, ``actor.require_covers``) and to add a member to every group (the groups' own guard,
  ``group_services.guard_membership``), and have a fresh second factor; valid
  ``INVITATION_DAYS``.
- ``invitation_resend``: a new link (the old one stops working) and a new expiry.
- ``invitation_revoke``: the link stops working.
- ``invitation_accept``: the account (address already confirmed: the link proves the mailbox)
  with the invited roles, a member of the invited groups (``group_services.group_member_add``,
  audited ``group.member_added``), once.

The console and the management API call these with ``users:write`` (an invitation makes a
user). Every change is audited in its own transaction; the token is never audited or logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from audit.services import record
from core.actors import Actor, SystemActor
from core.crypto import keyed_hash
from core.request_meta import RequestMeta
from mail import services as mail
from roles import access, group_services, policy, selectors
from roles import services as role_services
from roles.models import Group, Role
from roles.services import AssignmentSpec
from selfservice.links import EXPIRED, UNKNOWN, USED, VALID, LinkUnusable
from selfservice.models import Invitation

PURPOSE = "invitation-link"
REVOKED = "revoked"


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = keyed_hash(token, PURPOSE)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_DAYS)
    return token


def _mail(invitation: Invitation, token: str) -> None:
    context = {
        "url": settings.ISSUER_URL + reverse("selfservice:invitation", args=[token]),
        "invited_by": invitation.invited_by,
        "days": settings.INVITATION_DAYS,
        "roles": [role.name for role in invitation.roles.all()],
        "groups": [group.name for group in invitation.groups.order_by("name")],
    }
    mail.send(to=invitation.email, kind="invitation", context=context)


@transaction.atomic
def invitation_create(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    email: str,
    roles: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> Invitation:
    actor.require_fresh_factor()
    found = {role.name: role for role in Role.objects.filter(name__in=roles)}
    missing = sorted(set(roles) - set(found))
    if missing:
        raise ValidationError({"roles": [f"No role named {name!r}." for name in missing]})
    joined = {group.name: group for group in Group.objects.filter(name__in=groups)}
    missing = sorted(set(groups) - set(joined))
    if missing:
        raise ValidationError({"groups": [f"No group named {name!r}." for name in missing]})
    actor.require_covers(access.role_permissions(found), what="These roles")
    for group in joined.values():
        group_services.guard_membership(actor, group)
    email = email.strip()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["An account with this address exists already."]})
    invitation = Invitation(email=email, invited_by=actor.audit_name, created_at=timezone.now())
    token = _new_token(invitation)
    invitation.full_clean(exclude=["roles", "groups"])
    invitation.save()
    invitation.roles.set(found.values())
    invitation.groups.set(joined.values())
    _mail(invitation, token)
    record(
        "invitation.created",
        actor=actor.audit_name,
        meta=meta,
        target=email,
        roles=sorted(found),
        groups=sorted(joined),
        invitation=invitation.pk,
    )
    return invitation


def invited_roles(invitation: Invitation) -> set[str]:
    """The roles the account will hold: the invited ones and those the invited groups give."""
    names = {role.name for role in invitation.roles.all()}
    groups = [group.name for group in invitation.groups.all()]
    return names | set(policy.group_roles(selectors.group_graph(), groups))


def _open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError(f"The invitation was {invitation.status(timezone.now())}.")


@transaction.atomic
def invitation_resend(
    *, actor: Actor, meta: RequestMeta | None = None, invitation: Invitation
) -> Invitation:
    """A new link with a new expiry (an expired invitation may be resent)."""
    actor.require_covers(
        access.role_permissions(r.name for r in invitation.roles.all()), what="These roles"
    )
    actor.require_covers(
        access.group_permissions(g.name for g in invitation.groups.all()), what="These groups"
    )
    _open(invitation)
    token = _new_token(invitation)
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    _mail(invitation, token)
    record(
        "invitation.resent",
        actor=actor.audit_name,
        meta=meta,
        target=invitation.email,
        invitation=invitation.pk,
    )
    return invitation


@transaction.atomic
def invitation_revoke(
    *, actor: Actor, meta: RequestMeta | None = None, invitation: Invitation
) -> Invitation:
    _open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(
        "invitation.revoked",
        actor=actor.audit_name,
        meta=meta,
        target=invitation.email,
        invitation=invitation.pk,
    )
    return invitation


def _find(token: str, *, for_update: bool = False) -> Invitation | None:
    rows = Invitation.objects.select_for_update() if for_update else Invitation.objects
    return rows.filter(token_hash=keyed_hash(token, PURPOSE)).first()


def state_of(invitation: Invitation | None) -> str:
    if invitation is None or invitation.revoked_at is not None:
        return UNKNOWN
    if invitation.accepted_at is not None:
        return USED
    if timezone.now() >= invitation.expires_at:
        return EXPIRED
    return VALID


def invitation_for(token: str) -> tuple[str, Invitation | None]:
    invitation = _find(token)
    return state_of(invitation), invitation


@transaction.atomic
def invitation_accept(
    *, token: str, username: str, password: str, meta: RequestMeta | None = None
) -> User:
    """The invited account; ``LinkUnusable`` or ``ValidationError`` (nothing written then)."""
    invitation = _find(token, for_update=True)
    state = state_of(invitation)
    if state != VALID or invitation is None:
        raise LinkUnusable(state)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    actor = SystemActor(f"invitation:{invitation.pk}")
    user = account_services.user_create(
        actor=actor,
        meta=meta,
        username=username,
        password=password,
        email=invitation.email,
        email_verified=True,
    )
    roles = [AssignmentSpec(role.name) for role in invitation.roles.all()]
    role_services.user_roles_set(user=user, assignments=roles)
    groups = list(invitation.groups.order_by("name"))
    for group in groups:
        group_services.group_member_add(actor=actor, meta=meta, group=group, user=user)
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    record(
        "invitation.accepted",
        actor=user.username,
        meta=meta,
        target=invitation.email,
        invitation=invitation.pk,
        roles=[spec.role for spec in roles],
        groups=[group.name for group in groups],
    )
    return user
