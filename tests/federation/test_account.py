"""``/account/providers/``: a signed-in user links and unlinks upstream accounts."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from federation.models import LinkedIdentity
from tests.conftest import login
from tests.federation.conftest import local, sign_in

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("outbound_loopback")]


def test_link_then_sign_in_with_it_then_unlink(client, make_user, upstream, corp):
    corp.link_by = "none"
    corp.provision = False
    corp.save()
    user = make_user("robert", email="robert@example.com")
    login(client, "robert")
    page = client.get("/account/providers/")
    assert "Link Corp SSO" in page.content.decode()
    assert upstream.issuer in page["Content-Security-Policy"]  # its link form goes there
    started = client.post("/account/providers/corp/link/")
    assert started.status_code == 302
    back = client.get(local(upstream.sign_in(started["Location"], "bob")))
    assert back["Location"] == "/account/providers/"
    linked = LinkedIdentity.objects.get(provider=corp)
    assert (linked.user, linked.subject) == (user, "bob")
    event = AuditEvent.objects.get(event="federation.linked")
    assert (event.actor, event.data["how"]) == ("robert", "account")

    client.logout()
    sign_in(client, upstream, login="bob")
    assert client.session["_auth_user_id"] == str(user.pk)

    assert client.post("/account/providers/corp/unlink/").status_code == 302
    assert not LinkedIdentity.objects.exists()
    assert AuditEvent.objects.filter(event="federation.unlinked").exists()


def test_the_only_way_to_sign_in_is_not_unlinked(client, upstream, corp):
    sign_in(client, upstream)  # provisioned: no password
    answer = client.post("/account/providers/corp/unlink/")
    assert answer["Location"] == "/account/providers/?error=1"
    assert LinkedIdentity.objects.count() == 1


def test_an_identity_linked_to_someone_else_is_not_linked_again(client, make_user, upstream, corp):
    sign_in(client, upstream)  # alice's upstream account now belongs to a provisioned user
    client.logout()
    make_user("robert")
    login(client, "robert")
    started = client.post("/account/providers/corp/link/")
    back = client.get(local(upstream.sign_in(started["Location"], "alice")))
    assert back.status_code == 409
    assert "is linked to another account here" in back.content.decode()
    assert LinkedIdentity.objects.count() == 1
