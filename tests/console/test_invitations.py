"""Invitations in the console with groups: invite into a group, the list shows it, accepting
makes the account a member (the group's roles with it); the guard refuses a group whose roles
the operator lacks."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from core.actors import APPLY
from roles import group_services, selectors
from roles import services as role_services
from selfservice.models import Invitation
from tests.console.conftest import sign_in, text
from tests.mailbox import link_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_invite_into_a_group_from_the_console_and_accept(console, mailbox) -> None:
    from tests.conftest import PASSWORD

    role_services.role_create(actor=APPLY, name="reader", permissions=["users:read"])
    staff = group_services.group_create(actor=APPLY, name="staff", roles=["reader"])
    sent = console.post(
        "/console/invitations/new/", {"email": "gus@example.com", "groups": ["staff"]}
    )
    assert sent.status_code == 302, text(sent)
    invitation = Invitation.objects.get()
    assert list(invitation.groups.values_list("name", flat=True)) == ["staff"]
    page = text(console.get("/console/invitations/"))
    assert '<th scope="col">Groups</th>' in page and '<span class="tag">staff</span>' in page
    link = link_in(mailbox.wait("gus@example.com")[-1], "/invitation/")
    accepted = Client().post(link, {"username": "gus", "password": PASSWORD, "password2": PASSWORD})
    assert accepted.status_code == 302
    gus = User.objects.get(username="gus")
    assert staff.members.filter(pk=gus.pk).exists()
    assert "reader" in selectors.user_grant(gus.pk).roles


def test_the_console_refuses_a_group_beyond_the_operator(client, make_user, grant_roles):
    from console import access

    role_services.role_create(actor=APPLY, name="boss", permissions=["security:write"])
    power = group_services.group_create(actor=APPLY, name="power", roles=["boss"])
    manager = make_user("manager")
    grant_roles(manager, access.CONSOLE_ACCESS, "users:read", "users:write")
    sign_in(client, manager)
    refused = client.post(
        "/console/invitations/new/", {"email": "gus@example.com", "groups": ["power"]}
    )
    assert "security:write" in text(refused)
    assert not Invitation.objects.exists()
    assert power.members.count() == 0
