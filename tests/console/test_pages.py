"""What each console page does with good and bad input, and the audit trail it leaves."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from accounts.models import User
from audit.models import AuditEvent
from audit.services import record
from core.actors import APPLY
from oauth.models import Client as OAuthClient
from roles.models import Role
from tests.conftest import PASSWORD, REDIRECT_URI, basic_auth, forget_seeding, introspect
from tests.console.conftest import sign_in
from tests.roles.conftest import user_tokens


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name))


def text(response) -> str:
    return response.content.decode()


# --- users ------------------------------------------------------------------------------------


def test_creating_a_user_is_audited(console):
    response = console.post(
        "/console/users/new/",
        {"username": "sam", "email": "sam@example.com", "password": "a long enough passphrase"},
    )
    user = User.objects.get(username="sam")
    assert response["Location"] == f"/console/users/{user.pk}/"
    assert "User sam created." in text(console.get(response["Location"]))
    [event] = events("user.created")
    assert (event.actor, event.target) == ("root", "sam")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "sam", "password": "short"}, "too short"),
        ({"username": "root", "password": "a long enough passphrase"}, "already exists"),
        ({"username": "bad name!", "password": "a long enough passphrase"}, "valid username"),
        ({"username": "sam", "email": "not-an-email", "password": "x" * 20}, "valid email"),
    ],
)
def test_bad_user_input_is_explained_on_the_page(console, data, message):
    response = console.post("/console/users/new/", data)
    assert response.status_code == 200
    assert message in text(response)
    assert not User.objects.filter(username="sam").exists()
    assert not events("user.created")


def test_search_finds_users_by_name_or_email(console, make_user):
    make_user("tara", name="Tara Jones")
    make_user("uma", email="uma@corp.example")
    page = text(console.get("/console/users/", {"q": "jones"}))
    assert ">tara<" in page and ">uma<" not in page
    page = text(console.get("/console/users/", {"q": "corp.example"}))
    assert ">uma<" in page and ">tara<" not in page


def test_disabling_a_user_asks_first_then_ends_their_sessions(console, make_user, web_client):
    user = make_user("vera")
    user_tokens(Client(), web_client, "vera", scope="openid offline_access")
    confirm = console.get(f"/console/users/{user.pk}/active/")
    assert "Disable vera?" in text(confirm)
    assert "every session and token of theirs ends now" in text(confirm)
    console.post(f"/console/users/{user.pk}/active/")
    user.refresh_from_db()
    assert not user.is_active
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    assert events("user.disabled")[0].target == "vera"
    console.post(f"/console/users/{user.pk}/active/")
    user.refresh_from_db()
    assert user.is_active and events("user.enabled")


def test_nobody_disables_their_own_account(console, admin):
    response = console.post(f"/console/users/{admin.pk}/active/", follow=True)
    assert "You cannot disable your own account." in text(response)
    admin.refresh_from_db()
    assert admin.is_active


def test_resetting_a_password_checks_it_and_audits(console, make_user):
    user = make_user("wes")
    path = f"/console/users/{user.pk}/password/"
    response = console.post(path, {"password": "another passphrase", "confirm": "different"})
    assert "The two passwords differ." in text(response)
    response = console.post(path, {"password": "123", "confirm": "123"})
    assert "too short" in text(response)
    console.post(
        path, {"password": "another long passphrase", "confirm": "another long passphrase"}
    )
    user.refresh_from_db()
    assert user.check_password("another long passphrase")
    assert events("user.password_set")[0].target == "wes"


def test_assigning_roles_audits_each_change(console, make_user, make_role):
    user = make_user("xena")
    make_role("viewer", permissions=["users:read"])
    console.post(f"/console/users/{user.pk}/roles/", {"roles": ["viewer"]})
    assert [e.data["role"] for e in events("role.assigned")] == ["viewer"]
    console.post(f"/console/users/{user.pk}/roles/", {"roles": []})
    assert [e.data["role"] for e in events("role.unassigned")] == ["viewer"]


def test_nobody_hands_out_permissions_they_lack(console, make_user, make_role):
    user = make_user("yuri")
    make_role("payroll", permissions=["payroll:approve"])
    response = console.post(f"/console/users/{user.pk}/roles/", {"roles": ["payroll"]})
    assert "carries permissions you do not hold yourself: payroll:approve" in text(response)
    assert not user.role_assignments.exists()
    response = console.post("/console/roles/new/", {"name": "sneaky", "parents": ["payroll"]})
    assert "carries permissions you do not hold yourself: payroll:approve" in text(response)
    assert not Role.objects.filter(name="sneaky").exists()


def test_nobody_acts_on_an_account_stronger_than_their_own(client, admin, make_user, grant_roles):
    helpdesk = make_user("hal")
    grant_roles(helpdesk, "console:access", "users:read", "users:write")
    sign_in(client, helpdesk)
    path = f"/console/users/{admin.pk}/password/"
    response = client.post(path, {"password": "taken over now!", "confirm": "taken over now!"})
    assert "User &#x27;root&#x27; carries permissions you do not hold yourself" in text(response)
    response = client.post(f"/console/users/{admin.pk}/active/", follow=True)
    assert "carries permissions you do not hold yourself" in text(response)
    admin.refresh_from_db()
    assert admin.is_active and admin.check_password(PASSWORD)
    assert not events("user.password_set") and not events("user.disabled")


def test_an_unknown_role_choice_is_a_form_error(console, make_user):
    user = make_user("zoe")
    response = console.post(f"/console/users/{user.pk}/roles/", {"roles": ["nope"]})
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)


# --- roles ------------------------------------------------------------------------------------


@pytest.fixture
def make_role(db):
    from roles import services

    def make(name: str, *, parents=(), permissions=()):
        role = services.role_create(
            actor=APPLY, name=name, parents=parents, permissions=permissions
        )
        forget_seeding()
        return role

    return make


def test_the_role_page_shows_own_and_inherited_permissions_and_holders(console, make_role, admin):
    make_role("base", permissions=["users:read"])
    child = make_role("child", parents=["base"], permissions=["audit:read"])
    page = text(console.get(f"/console/roles/{child.pk}/"))
    assert '<code>audit:read</code></td><td><span class="badge ok">own</span>' in page
    assert "<code>users:read</code></td><td>inherited from base</td>" in page
    console_admin = Role.objects.get(name="console-admin")
    assert ">root</a>" in text(console.get(f"/console/roles/{console_admin.pk}/"))


def test_the_role_tree_nests_children_under_each_parent(console, make_role):
    make_role("a")
    make_role("b")
    make_role("c", parents=["a", "b"])
    page = text(console.get("/console/roles/"))
    assert page.count(">c</a>") == 2
    assert "also under b" in page and "also under a" in page


def test_creating_a_role_under_another(console, make_role):
    parent = make_role("staff", permissions=["users:read"])
    form = text(console.get("/console/roles/new/", {"parent": "staff"}))
    assert 'value="staff" id="id_parents_' in form and "checked" in form
    response = console.post(
        "/console/roles/new/",
        {"name": "staff-lead", "parents": ["staff"], "permissions": "audit:read\n"},
    )
    role = Role.objects.get(name="staff-lead")
    assert response["Location"] == f"/console/roles/{role.pk}/"
    assert list(role.parents.all()) == [parent]
    [event] = events("role.created")
    assert event.data == {"parents": ["staff"], "permissions": ["audit:read"], "require_mfa": False}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "bad name"}, "A role name is 1-100 letters"),
        ({"name": "ok", "permissions": "GET no-slash"}, "the path must start with"),
        ({"name": "console-admin"}, "already exists"),
    ],
)
def test_bad_role_input_is_explained(console, data, message):
    response = console.post("/console/roles/new/", data)
    assert response.status_code == 200
    assert message in text(response)
    assert not events("role.created")


def test_editing_a_role_into_a_cycle_is_refused(console, make_role):
    make_role("top")
    low = make_role("low", parents=["top"])
    top = Role.objects.get(name="top")
    response = console.post(f"/console/roles/{top.pk}/edit/", {"parents": [str(low.name)]})
    assert "roles would inherit from themselves: low -&gt; top -&gt; low" in text(response)
    assert not top.parents.exists()


def test_editing_a_role_saves_and_audits(console, make_role):
    role = make_role("editors", permissions=["users:read"])
    console.post(
        f"/console/roles/{role.pk}/edit/",
        {"name": "ignored", "description": "Edit things", "permissions": "users:write"},
    )
    role.refresh_from_db()
    assert role.name == "editors" and role.description == "Edit things"
    assert list(role.permissions.values_list("value", flat=True)) == ["users:write"]
    assert events("role.updated")[0].target == "editors"


def test_deleting_a_role_checks_dependants_first(console, make_role):
    parent = make_role("parent")
    make_role("kid", parents=["parent"])
    confirm = text(console.get(f"/console/roles/{parent.pk}/delete/"))
    assert "These roles inherit from parent" in confirm and "Delete parent</button>" not in confirm
    response = console.post(f"/console/roles/{parent.pk}/delete/")
    assert response.status_code == 400
    assert "inherited by kid" in text(response)
    assert Role.objects.filter(name="parent").exists()

    kid = Role.objects.get(name="kid")
    assert "Delete kid</button>" in text(console.get(f"/console/roles/{kid.pk}/delete/"))
    response = console.post(f"/console/roles/{kid.pk}/delete/")
    assert response["Location"] == "/console/roles/"
    assert not Role.objects.filter(name="kid").exists()
    assert events("role.deleted")[0].target == "kid"


# --- clients ----------------------------------------------------------------------------------

CLIENT_FORM = {
    "name": "Shop",
    "type": "confidential",
    "grant_types": ["authorization_code", "refresh_token"],
    "redirect_uris": REDIRECT_URI,
    "scopes": "openid profile",
}


def test_a_new_client_secret_is_shown_exactly_once(console):
    response = console.post("/console/clients/new/", CLIENT_FORM)
    page = text(response)
    assert "It is shown only this once" in page
    assert "no-store" in response["Cache-Control"]
    client = OAuthClient.objects.get(name="Shop")
    secret = response.context["secret"]
    assert f'<code id="client-secret" class="secret">{secret}</code>' in page
    assert check_password(secret, client.client_secret)
    assert client.redirect_uris == REDIRECT_URI and client.allowed_scopes == ["openid", "profile"]
    detail = text(console.get(f"/console/clients/{client.pk}/"))
    assert secret not in detail and "it cannot be shown again" in detail
    assert events("client.created")[0].target == client.client_id


def test_a_public_client_gets_no_secret(console):
    data = {**CLIENT_FORM, "type": "public", "grant_types": ["authorization_code"]}
    response = console.post("/console/clients/new/", data)
    client = OAuthClient.objects.get(name="Shop")
    assert response["Location"] == f"/console/clients/{client.pk}/"
    assert client.client_secret == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"redirect_uris": "http://evil.example/cb"}, "redirect URIs must be https"),
        ({"redirect_uris": "https://app.example/cb#frag"}, "must not contain a fragment"),
        ({"redirect_uris": ""}, "authorization_code needs at least one redirect URI"),
        ({"grant_types": []}, "This field is required"),
        ({"grant_types": ["password"]}, "Select a valid choice"),
        ({"type": "public", "grant_types": ["client_credentials"]}, "needs a confidential client"),
    ],
)
def test_bad_client_input_is_explained(console, data, message):
    response = console.post("/console/clients/new/", {**CLIENT_FORM, **data})
    assert response.status_code == 200
    assert message in text(response)
    assert not OAuthClient.objects.filter(name="Shop").exists()


def test_editing_redirect_uris_and_grants(console, make_client):
    client, _ = make_client(client_id="shop", name="Shop", grant_types=["client_credentials"])
    path = f"/console/clients/{client.pk}/edit/"
    response = console.post(path, {**CLIENT_FORM, "redirect_uris": "http://evil.example/cb"})
    assert "redirect URIs must be https" in text(response)
    client.refresh_from_db()
    assert client.grant_types == ["client_credentials"]
    uris = "https://shop.example/cb\nhttps://shop.example/other"
    console.post(path, {**CLIENT_FORM, "redirect_uris": uris})
    client.refresh_from_db()
    assert client.redirect_uris.split() == uris.split()
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert events("client.updated")[0].data["fields"][0] == "grant_types"


def test_editing_keeps_the_authentication_method_and_secret(console, make_client):
    client, secret = make_client(
        client_id="post", name="Poster", token_endpoint_auth_method="client_secret_post"
    )
    response = console.post(
        f"/console/clients/{client.pk}/edit/",
        {"name": "Renamed", "grant_types": ["client_credentials"], "type": "public"},
    )
    assert response.status_code == 302  # saved; no new secret page
    client.refresh_from_db()
    assert client.name == "Renamed" and client.client_type == "confidential"
    assert client.token_endpoint_auth_method == "client_secret_post"
    assert check_password(secret, client.client_secret)


def test_nobody_takes_over_a_client_stronger_than_themselves(
    client, make_client, make_user, grant_roles
):
    from roles import services as role_services
    from roles.services import AssignmentSpec

    service, secret = make_client(client_id="payroll", name="Payroll")
    role_services.role_create(actor=APPLY, name="payroll-bot", permissions=["payroll:approve"])
    role_services.client_roles_set(client=service, assignments=[AssignmentSpec("payroll-bot")])
    operator = make_user("olly")
    grant_roles(operator, "console:access", "clients:read", "clients:write")
    sign_in(client, operator)
    response = client.post(f"/console/clients/{service.pk}/rotate-secret/", follow=True)
    assert "carries permissions you do not hold yourself: payroll:approve" in text(response)
    service.refresh_from_db()
    assert check_password(secret, service.client_secret)


def test_rotating_a_secret_confirms_then_shows_the_new_one_once(console, make_client):
    client, old = make_client(client_id="svc", name="Service")
    confirm = text(console.get(f"/console/clients/{client.pk}/rotate-secret/"))
    assert "The current secret stops working at once" in confirm
    response = console.post(f"/console/clients/{client.pk}/rotate-secret/")
    new = response.context["secret"]
    assert new != old and new in text(response)
    client.refresh_from_db()
    assert check_password(new, client.client_secret)
    assert not check_password(old, client.client_secret)
    assert events("client.secret_rotated")[0].target == "svc"


# --- sessions and tokens ----------------------------------------------------------------------


def test_ending_a_session_revokes_its_refresh_token(console, make_user, web_client):
    make_user("ada")
    client, secret = web_client
    tokens = user_tokens(Client(), web_client, "ada", scope="openid offline_access")
    family = get_refresh_token_model().objects.get(user__username="ada").token_family
    page = text(console.get("/console/tokens/"))
    assert "ada" in page and f"/console/tokens/sessions/{family}/revoke/" in page
    assert "End the session of ada at Web App?" in text(
        console.get(f"/console/tokens/sessions/{family}/revoke/")
    )
    console.post(f"/console/tokens/sessions/{family}/revoke/")
    refresh = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert events("session.revoked")[0].target == "user:ada"
    assert f"/console/tokens/sessions/{family}/revoke/" not in text(console.get("/console/tokens/"))


def test_revoking_a_client_token(console, make_client, resource_server):
    _client, secret = make_client(client_id="m2m", name="Machine")
    issued = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("m2m", secret),
    )
    access = issued.json()["access_token"]
    assert introspect(Client(), resource_server, access)["active"] is True
    jti = events("token.issued")[0].data["jti"]
    page = text(console.get("/console/tokens/"))
    assert f"/console/tokens/client/{jti}/revoke/" in page
    assert "Revoke the token" in text(console.get(f"/console/tokens/client/{jti}/revoke/"))
    console.post(f"/console/tokens/client/{jti}/revoke/")
    assert introspect(Client(), resource_server, access) == {"active": False}
    assert events("token.revoked")[-1].target == "client:m2m"
    assert f"/console/tokens/client/{jti}/revoke/" not in text(console.get("/console/tokens/"))
    assert console.get(f"/console/tokens/client/{jti}/revoke/").status_code == 404


def test_revoking_an_access_token(console, make_user, resource_server, web_client):
    make_user("ada")
    issued = user_tokens(Client(), web_client, "ada", scope="openid")
    token = get_access_token_model().objects.get(user__username="ada")
    assert introspect(Client(), resource_server, issued["access_token"])["active"] is True
    console.post(f"/console/tokens/access/{token.pk}/revoke/")
    assert not get_access_token_model().objects.filter(pk=token.pk).exists()
    assert introspect(Client(), resource_server, issued["access_token"]) == {"active": False}
    assert events("token.revoked")[0].target == "user:ada"


# --- audit log and dashboard ------------------------------------------------------------------


@pytest.fixture
def audit_rows(db):
    record("login", target="alice", outcome=AuditEvent.Outcome.FAILURE, reason="credentials")
    record("role.created", actor="root", target="support")
    record("role.deleted", actor='=HYPERLINK("http://evil")', target="support")
    old = record("user.created", actor="root", target="old")
    AuditEvent.objects.filter(pk=old.pk).update(ts=timezone.now() - timedelta(days=3))


def test_the_audit_log_filters_by_event_actor_outcome_and_time(console, audit_rows):
    page = text(console.get("/console/audit/", {"event": "role."}))
    assert "2 events" in page
    assert "<code>role.created</code>" in page and "<code>user.created</code>" not in page
    page = text(console.get("/console/audit/", {"outcome": "failure"}))
    assert "1 event" in page and "alice" in page
    page = text(console.get("/console/audit/", {"actor": "old"}))
    assert "1 event" in page
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page = text(console.get("/console/audit/", {"since": since, "actor": "root", "event": "role."}))
    assert "1 event" in page and "<code>role.created</code>" in page


def test_bad_audit_filters_are_explained_not_applied(console, audit_rows):
    response = console.get("/console/audit/", {"since": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date/time." in text(response)
    response = console.get(
        "/console/audit/", {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}
    )
    assert "Must be later than the start." in text(response)
    assert console.get("/console/audit/export.csv", {"since": "yesterday"}).status_code == 200


def test_the_audit_export_is_filtered_csv_safe_for_spreadsheets(console, audit_rows):
    response = console.get("/console/audit/export.csv", {"event": "role."})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "ts", "event", "outcome"]
    assert sorted(r[2] for r in rows[1:]) == ["role.created", "role.deleted"]
    assert any(r[4] == '\'=HYPERLINK("http://evil")' for r in rows[1:])


def test_the_dashboard_counts_tokens_and_failed_sign_ins(console, audit_rows, make_client):
    _, secret = make_client(client_id="m2m", name="Machine")
    for _ in range(3):
        Client().post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth("m2m", secret),
        )
    response = console.get("/console/")
    page = text(response)
    assert '<span class="stat-value">3</span><span class="stat-label">access tokens issued' in page
    assert '<span class="stat-value">1</span><span class="stat-label">failed sign-ins' in page
    hour = timezone.now().strftime("%H")
    assert f"<title>{hour}:00: 3 access tokens issued</title>" in page
    assert f"<title>{hour}:00: 1 failed sign-ins</title>" in page
