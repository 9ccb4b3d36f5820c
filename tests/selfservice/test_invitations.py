"""Invitations below the pages: the hierarchy guard, resend replaces the link, revoke and
expiry end it, an address with an account is refused, the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from core.actors import APPLY
from roles import services as role_services
from roles.access import AccessError
from selfservice import invitations
from selfservice.models import Invitation
from tests.mailbox import link_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(db):
    return role_services.role_create(actor=APPLY, name="reader", permissions=["docs:read"])


def _link(mailbox, count: int = 1) -> str:
    return link_in(mailbox.wait("erin@example.com", count)[-1], "/invitation/")


def _accept(link: str, username: str = "erin"):
    from tests.conftest import PASSWORD

    return Client().post(link, {"username": username, "password": PASSWORD, "password2": PASSWORD})


def test_accepting_creates_the_account_with_the_roles_once(mailbox, reader) -> None:
    invitations.invitation_create(actor=APPLY, email="erin@example.com", roles=["reader"])
    link = _link(mailbox)
    response = _accept(link)
    assert response.status_code == 302 and response["Location"] == "/welcome/"
    invitation = Invitation.objects.get()
    assert invitation.status(timezone.now()) == "accepted" and invitation.user.username == "erin"
    assert invitation.user.email_verified
    assert Client().get(link).status_code == 410
    events = AuditEvent.objects.filter(event__startswith="invitation.")
    assert list(events.order_by("pk").values_list("event", flat=True)) == [
        "invitation.created",
        "invitation.accepted",
    ]


def test_resend_replaces_the_link_and_revoke_ends_it(mailbox, reader) -> None:
    invitation = invitations.invitation_create(actor=APPLY, email="erin@example.com")
    first = _link(mailbox)
    invitations.invitation_resend(actor=APPLY, invitation=invitation)
    second = _link(mailbox, 2)
    assert first != second and Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200
    invitations.invitation_revoke(actor=APPLY, invitation=invitation)
    assert Client().get(second).status_code == 404
    with pytest.raises(ValidationError):
        invitations.invitation_resend(actor=APPLY, invitation=invitation)


def test_an_expired_invitation_is_refused(mailbox) -> None:
    invitations.invitation_create(actor=APPLY, email="erin@example.com")
    link = _link(mailbox)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(link).status_code == 410
    assert _accept(link).status_code == 410


def test_an_address_with_an_account_and_unknown_roles_are_refused(make_user) -> None:
    make_user("erin")
    with pytest.raises(ValidationError) as refused:
        invitations.invitation_create(actor=APPLY, email="ERIN@example.com")
    assert "exists already" in str(refused.value)
    with pytest.raises(ValidationError, match="No role named 'ghost'"):
        invitations.invitation_create(actor=APPLY, email="new@example.com", roles=["ghost"])


def test_nobody_hands_out_a_role_beyond_their_own(make_user, reader) -> None:
    from roles.access import acting, principal_for_user

    weak = make_user("weak")
    actor = acting(principal_for_user(weak, factor_time=timezone.now().timestamp()))
    with pytest.raises(AccessError):
        invitations.invitation_create(actor=actor, email="new@example.com", roles=["reader"])
    assert not Invitation.objects.exists()


def test_accepting_makes_the_account_a_member_of_the_groups(mailbox, reader) -> None:
    from roles import group_services, selectors

    group_services.group_create(actor=APPLY, name="staff", roles=["reader"])
    with pytest.raises(ValidationError, match="No group named 'ghost'"):
        invitations.invitation_create(actor=APPLY, email="erin@example.com", groups=["ghost"])
    invitation = invitations.invitation_create(
        actor=APPLY, email="erin@example.com", groups=["staff"]
    )
    assert invitations.invited_roles(invitation) == {"reader"}
    assert _accept(_link(mailbox)).status_code == 302
    erin = Invitation.objects.get().user
    assert list(erin.member_groups.values_list("name", flat=True)) == ["staff"]
    assert "reader" in selectors.user_grant(erin.pk).roles
    accepted = AuditEvent.objects.get(event="invitation.accepted")
    assert accepted.actor == "erin"
    assert AuditEvent.objects.filter(
        event="group.member_added", target="user:erin", actor=f"invitation:{invitation.pk}"
    ).exists()
