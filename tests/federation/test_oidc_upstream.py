"""Sign-in through a real upstream OpenID provider (panva's oidc-provider on loopback), driven
through its own login page: JIT provisioning, a ``groups`` claim mapped to a role that shows in
our introspection, one mapped to a local group (joined, then left without the claim), the
second sign-in on the same account, and the refusals (wrong ``state``,
a forged or an expired ID token)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ValidationError

from accounts.models import User
from audit.models import AuditEvent
from core.actors import APPLY
from federation import services
from federation import upstream as rp
from federation.models import IdentityProvider, LinkedIdentity
from roles import group_services, selectors
from roles import services as role_services
from roles.models import Group
from roles.services import AssignmentSpec
from tests.conftest import REDIRECT_URI, basic_auth, query_of
from tests.federation.conftest import local, sign_in
from tests.flows import authorize, exchange

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("outbound_loopback")]


def test_first_sign_in_provisions_maps_the_group_and_shows_in_introspection(
    client, upstream, corp, web_client, resource_server
):
    answer = sign_in(client, upstream)
    assert answer.status_code == 302 and answer["Location"] == "/account/providers/"
    user = User.objects.get(username="alice")
    assert (user.email, user.name, user.has_usable_password()) == (
        "alice@corp.example",
        "Alice Upstream",
        False,
    )
    assert LinkedIdentity.objects.get(provider=corp).user == user
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"user.created", "federation.linked", "role.assigned", "login"} <= events

    code, verifier = authorize(client, "webapp", scope="openid")
    tokens = exchange(client, "webapp", web_client[1], code, verifier).json()
    rs, secret = resource_server
    seen = client.post(
        "/o/introspect/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret),
    ).json()
    assert seen["active"] is True
    assert seen["roles"] == ["platform-admin"]
    assert seen["amr"] == ["fed"]


def test_second_sign_in_is_the_same_account_and_mapping_follows_the_upstream(
    client, django_user_model, upstream, corp
):
    sign_in(client, upstream)
    user = User.objects.get(username="alice")
    # someone gave alice "contractor" by hand; the upstream does not say so: it goes again,
    # while a role the mapping does not name stays
    role_services.role_create(actor=APPLY, name="unmapped", permissions=["x:y"])
    role_services.user_roles_set(
        user=user,
        assignments=[AssignmentSpec(n) for n in ("platform-admin", "contractor", "unmapped")],
    )
    client.logout()
    sign_in(client, upstream)
    assert User.objects.filter(email="alice@corp.example").count() == 1
    assert LinkedIdentity.objects.filter(provider=corp).count() == 1
    held = set(user.role_assignments.values_list("role__name", flat=True))
    assert held == {"platform-admin", "unmapped"}


def test_a_groups_claim_maps_to_a_local_group_and_goes_without_the_claim(client, upstream, corp):
    role_services.role_create(actor=APPLY, name="operator", permissions=["ops:run"])
    group_services.group_create(actor=APPLY, name="operators", roles=["operator"])
    group_services.group_create(actor=APPLY, name="unmapped")
    rules = [
        *corp.role_mapping,
        {"claim": "groups", "value": "platform-admins", "groups": ["operators"]},
    ]
    services.provider_update(actor=APPLY, provider=corp, spec={"role_mapping": rules})
    sign_in(client, upstream)
    user = User.objects.get(username="alice")
    assert set(user.member_groups.values_list("name", flat=True)) == {"operators"}
    assert "operator" in selectors.user_grant(user.pk).roles
    added = AuditEvent.objects.get(event="group.member_added", target="user:alice")
    assert (added.actor, added.data["group"]) == ("federation:corp", "operators")
    # a group no rule names is left alone
    group_services.group_member_add(
        actor=APPLY, group=Group.objects.get(name="unmapped"), user=user
    )
    client.logout()
    # the next sign-in asks no ``groups`` scope: the upstream sends no groups claim
    services.provider_update(
        actor=APPLY, provider=corp, spec={"scopes": ["openid", "email", "profile"]}
    )
    sign_in(client, upstream)
    assert set(user.member_groups.values_list("name", flat=True)) == {"unmapped"}
    assert "operator" not in selectors.user_grant(user.pk).roles
    removed = AuditEvent.objects.get(event="group.member_removed", target="user:alice")
    assert removed.actor == "federation:corp"


def test_mapping_to_an_unknown_local_group_is_refused(corp):
    rules = [{"claim": "groups", "value": "x", "groups": ["nope"]}]
    with pytest.raises(ValidationError) as refused:
        services.provider_update(actor=APPLY, provider=corp, spec={"role_mapping": rules})
    assert "unknown group 'nope'" in str(refused.value)


def test_verified_email_links_an_existing_user(client, make_user, upstream, corp):
    existing = make_user("alice.local", email="alice@corp.example")
    sign_in(client, upstream)
    assert LinkedIdentity.objects.get(provider=corp).user == existing
    assert not User.objects.filter(username="alice").exists()


def test_unverified_email_does_not_link_and_without_provisioning_nobody_signs_in(
    client, make_user, upstream, corp
):
    make_user("bob.local", email="bob@corp.example")
    corp.provision = False
    corp.save()
    answer = sign_in(client, upstream, login="bob")
    assert answer.status_code == 403
    assert "No account here is linked" in answer.content.decode()
    assert not LinkedIdentity.objects.exists()
    assert "_auth_user_id" not in client.session


def test_a_wrong_state_is_refused(client, upstream, corp):
    started = client.get("/accounts/login/corp/")
    callback = upstream.sign_in(started["Location"], "alice")
    params = query_of(callback)
    answer = client.get(
        "/accounts/login/corp/callback/", {"code": params["code"], "state": "forged-state"}
    )
    assert answer.status_code == 400
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="alice").exists()
    refused = AuditEvent.objects.get(event="federation.login")
    assert (refused.outcome, refused.data["reason"]) == ("failure", "state")
    # the real state still works once, then no more
    assert client.get(local(callback)).status_code == 302
    assert client.get(local(callback)).status_code == 400


def test_a_forged_id_token_is_refused(client, upstream, corp, monkeypatch):
    real_exchange = rp.exchange
    wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def forged(*args, **kwargs):
        answer = real_exchange(*args, **kwargs)
        header = jwt.get_unverified_header(answer["id_token"])
        claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
        answer["id_token"] = jwt.encode(
            {**claims, "sub": "mallory"}, wrong_key, algorithm="RS256", headers=header
        )
        return answer

    monkeypatch.setattr(rp, "exchange", forged)
    answer = sign_in(client, upstream)
    assert answer.status_code == 502
    assert "_auth_user_id" not in client.session
    assert not LinkedIdentity.objects.exists()
    refused = AuditEvent.objects.get(event="federation.login")
    assert refused.data["detail"] == "ID token refused: Signature verification failed"


def test_an_expired_id_token_is_refused(client, upstream, corp, clock):
    clock.advance(2 * 3600)
    answer = sign_in(client, upstream)
    assert answer.status_code == 502
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(event="federation.login").data["detail"] == ("ID token expired")


def test_sign_out_goes_on_to_the_upstreams_logout(client, upstream, corp):
    sign_in(client, upstream)
    page = client.get("/account/providers/")
    assert upstream.issuer in page["Content-Security-Policy"]  # the sign-out form may go there
    answer = client.post("/accounts/logout/")
    assert answer.status_code == 302
    target = answer["Location"]
    assert target.startswith(upstream.issuer + "/session/end")
    assert query_of(target)["post_logout_redirect_uri"].endswith("/accounts/login/corp/logged-out/")
    assert "id_token_hint" in query_of(target)
    assert "_auth_user_id" not in client.session


def test_kc_idp_hint_on_the_authorization_request_goes_straight_to_the_provider(
    client, upstream, corp, web_client
):
    answer = client.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": "webapp",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
            "kc_idp_hint": "corp",
        },
    )
    login_page = answer["Location"]
    to_provider = client.get(login_page)
    assert to_provider.status_code == 302
    assert to_provider["Location"].startswith("/accounts/login/corp/?next=")
    assert client.get(to_provider["Location"])["Location"].startswith(upstream.issuer)


def test_the_login_page_shows_a_button_per_provider(client, corp):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Corp SSO" in page
    assert 'href="/accounts/login/corp/"' in page
    assert 'name="password"' in page


def test_an_exclusive_client_gets_no_password_form(client, corp, web_client):
    services.provider_update(
        actor=APPLY, provider=corp, spec={"exclusive_clients": ["webapp"], "name": "Corp"}
    )
    IdentityProvider.objects.create(
        slug="other", name="Other", client_id="x", issuer="https://o.example"
    )
    page = client.get("/accounts/login/", {"next": "/o/authorize/?client_id=webapp"})
    assert page.status_code == 302  # the only provider for this client: straight there
    assert page["Location"].startswith("/accounts/login/corp/")
    refused = client.post(
        "/accounts/login/?next=/o/authorize/%3Fclient_id%3Dwebapp",
        {"username": "a", "password": "b"},
    )
    assert refused.status_code == 403


def test_an_upstream_error_signs_nobody_in(client, upstream, corp):
    started = client.get("/accounts/login/corp/")
    state = query_of(started["Location"])["state"]
    answer = client.get(
        "/accounts/login/corp/callback/", {"error": "access_denied", "state": state}
    )
    assert answer.status_code == 403
    assert "was cancelled or refused" in answer.content.decode()
    event = AuditEvent.objects.get(event="federation.login")
    assert (event.data["reason"], event.data["error"]) == ("denied", "access_denied")
