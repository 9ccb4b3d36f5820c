"""/api/v1/invitations/: invite an address with roles (the mail goes to a real SMTP server),
list, read, resend (a new link), revoke (idempotent); ``users:write`` to write."""

from __future__ import annotations

import pytest

from core.actors import APPLY
from roles import services as role_services
from tests.api.conftest import assert_problem
from tests.mailbox import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(db):
    return role_services.role_create(actor=APPLY, name="reader", permissions=["orders:read"])


def _invite(admin, capture, **body):
    with capture(execute=True):
        return admin.post("/api/v1/invitations/", {"email": "fay@example.com", **body})


def test_invite_list_resend_revoke(
    admin, reader, mailbox, client, django_capture_on_commit_callbacks
) -> None:
    created = _invite(admin, django_capture_on_commit_callbacks, roles=["reader"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "fay@example.com" and body["roles"] == ["reader"]
    assert body["status"] == "pending" and body["invited_by"] == "client:admin"
    assert body["username"] is None
    first = link_in(mailbox.wait("fay@example.com")[-1], "/invitation/")

    listed = admin.get("/api/v1/invitations/").json()
    assert [i["id"] for i in listed["results"]] == [body["id"]]
    assert admin.get(f"/api/v1/invitations/{body['id']}/").json() == body

    with django_capture_on_commit_callbacks(execute=True):
        resent = admin.post(f"/api/v1/invitations/{body['id']}/resend/")
    assert resent.status_code == 200 and resent.json()["sent"] >= body["sent"]
    second = link_in(mailbox.wait("fay@example.com", 2)[-1], "/invitation/")
    assert first != second
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200

    assert admin.delete(f"/api/v1/invitations/{body['id']}/").status_code == 204
    assert admin.delete(f"/api/v1/invitations/{body['id']}/").status_code == 204
    assert admin.get(f"/api/v1/invitations/{body['id']}/").json()["status"] == "revoked"
    assert client.get(second).status_code == 404


def test_bad_input_and_unknown_ids_are_problems(admin, django_capture_on_commit_callbacks):
    bad = _invite(admin, django_capture_on_commit_callbacks, email="not-an-address")
    assert_problem(bad, 400, "validation-error")
    unknown_role = _invite(admin, django_capture_on_commit_callbacks, roles=["ghost"])
    assert_problem(unknown_role, 400, "validation-error")
    assert "ghost" in unknown_role.content.decode()
    assert_problem(admin.get("/api/v1/invitations/999/"), 404, "not-found")


def test_reading_does_not_allow_inviting(caller, django_capture_on_commit_callbacks) -> None:
    reader_only = caller("users:read")
    assert reader_only.get("/api/v1/invitations/").status_code == 200
    assert_problem(
        _invite(reader_only, django_capture_on_commit_callbacks), 403, "permission-denied"
    )


def test_invite_into_a_group_and_accept(
    admin, reader, mailbox, client, django_capture_on_commit_callbacks
):
    from accounts.models import User
    from audit.models import AuditEvent
    from roles import group_services, selectors
    from tests.conftest import PASSWORD

    group_services.group_create(actor=APPLY, name="staff", roles=["reader"])
    created = _invite(admin, django_capture_on_commit_callbacks, groups=["staff"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["groups"] == ["staff"] and body["roles"] == []
    assert admin.get(f"/api/v1/invitations/{body['id']}/").json()["groups"] == ["staff"]
    message = mailbox.wait("fay@example.com")[-1]
    link = link_in(message, "/invitation/")
    accepted = client.post(link, {"username": "fay", "password": PASSWORD, "password2": PASSWORD})
    assert accepted.status_code == 302, accepted.content
    fay = User.objects.get(username="fay")
    assert list(fay.member_groups.values_list("name", flat=True)) == ["staff"]
    assert "reader" in selectors.user_grant(fay.pk).roles
    added = AuditEvent.objects.get(event="group.member_added", target="user:fay")
    assert added.actor == f"invitation:{body['id']}"


def test_an_unknown_group_is_a_problem(admin, django_capture_on_commit_callbacks):
    unknown = _invite(admin, django_capture_on_commit_callbacks, groups=["ghost"])
    assert_problem(unknown, 400, "validation-error")
    assert "ghost" in unknown.content.decode()
    assert admin.get("/api/v1/invitations/").json()["results"] == []


def test_nobody_invites_into_a_group_whose_roles_they_lack(
    caller, admin, django_capture_on_commit_callbacks
):
    from roles import group_services

    role_services.role_create(actor=APPLY, name="boss", permissions=["security:write"])
    group_services.group_create(actor=APPLY, name="power", roles=["boss"])
    manager = caller("users:read", "users:write")
    refused = _invite(manager, django_capture_on_commit_callbacks, groups=["power"])
    assert "security:write" in assert_problem(refused, 403, "privilege-escalation")["detail"]
    assert admin.get("/api/v1/invitations/").json()["results"] == []
