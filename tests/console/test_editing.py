"""Client and user edits in the console: every field, every error at once, disable, delete."""

from __future__ import annotations

import json

from django.test import Client
from jwcrypto.jwk import JWK

from accounts.models import User
from audit.models import AuditEvent
from core.actors import APPLY
from oauth.models import Client as OAuthClient
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.conftest import REDIRECT_URI, basic_auth
from tests.console.conftest import text
from tests.roles.conftest import user_tokens

NEW = {
    "name": "Shop",
    "type": "confidential",
    "grant_types": ["authorization_code", "refresh_token"],
    "redirect_uris": REDIRECT_URI,
    "scopes": ["openid", "profile"],
}


def event(name: str) -> AuditEvent:
    return AuditEvent.objects.get(event=name)


def test_every_error_shows_at_once_beside_its_field_and_what_was_typed_stays(console, make_client):
    make_client(client_id="taken", name="Shop")
    response = console.post(
        "/console/clients/new/",
        {
            **NEW,
            "client_id": "taken",
            "redirect_uris": "http://evil.example/cb\nhttps://ok.example/cb",
            "post_logout_redirect_uris": "https://ok.example/bye#x",
            "access_token_lifetime": "0",
            "token_endpoint_auth_method": "private_key_jwt",
        },
    )
    page = text(response)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {
        "client_id",
        "name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "access_token_lifetime",
        "jwks",
    }
    assert "a client with the id &#x27;taken&#x27; already exists" in page
    assert "a client named &#x27;Shop&#x27; already exists" in page
    assert "redirect URIs must be https" in page and "must not contain a fragment" in page
    assert "from 1 to 86400" in page and "private_key_jwt needs jwks or jwks_uri" in page
    assert "http://evil.example/cb\nhttps://ok.example/cb</textarea>" in page
    assert 'value="taken"' in page
    assert OAuthClient.objects.count() == 1
    assert not AuditEvent.objects.filter(event="client.created", actor="root").exists()


def test_a_scope_nobody_defines_is_refused_and_uris_are_one_per_line(console, make_api):
    make_api("https://orders.example/", scopes=["orders:read"])
    bogus = console.post("/console/clients/new/", {**NEW, "scopes": ["openid", "nope"]})
    assert "Select a valid choice. nope is not one of the available choices." in text(bogus)
    spaced = console.post(
        "/console/clients/new/", {**NEW, "redirect_uris": "https://a.example/x y"}
    )
    assert "https://a.example/x y: a URI cannot contain spaces" in text(spaced)
    assert not OAuthClient.objects.exists()
    form = text(console.get("/console/clients/new/"))
    assert 'value="orders:read"' in form and 'value="offline_access"' in form
    uris = "https://a.example/cb\r\n\r\nhttps://b.example/cb\n"
    created = console.post(
        "/console/clients/new/",
        {**NEW, "redirect_uris": uris, "scopes": ["openid", "orders:read"], "client_id": "shop"},
    )
    client = OAuthClient.objects.get(client_id="shop")
    assert client.redirect_uris.split() == ["https://a.example/cb", "https://b.example/cb"]
    assert client.allowed_scopes == ["openid", "orders:read"]
    assert created.context["secret"]  # confidential: its secret is shown once


def test_a_private_key_jwt_client_with_its_keys_lifetime_and_second_factor(console):
    public = json.loads(JWK.generate(kty="EC", crv="P-256", kid="k1").export_public())
    data = {
        **NEW,
        "client_id": "signer",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": "{not json",
        "post_logout_redirect_uris": "https://shop.example/bye",
        "access_token_lifetime": "600",
        "require_mfa": "on",
    }
    assert "Not valid JSON." in text(console.post("/console/clients/new/", data))
    response = console.post(
        "/console/clients/new/", {**data, "jwks": json.dumps({"keys": [public]})}
    )
    client = OAuthClient.objects.get(client_id="signer")
    assert response["Location"] == f"/console/clients/{client.pk}/"  # no secret to show
    assert client.client_secret == "" and client.jwks == {"keys": [public]}
    assert client.token_endpoint_auth_method == "private_key_jwt"
    assert client.post_logout_redirect_uris == "https://shop.example/bye"
    assert (client.access_token_lifetime, client.require_mfa) == (600, True)
    detail = text(console.get(response["Location"]))
    assert "600 s" in detail and "required to use it" in detail and "1 key in its JWKS" in detail


def test_an_edit_shows_the_stored_values_and_audits_only_what_changed(console, make_client):
    client, _ = make_client(
        client_id="shop",
        name="Shop",
        grant_types=["authorization_code"],
        redirect_uris=["https://shop.example/cb", "https://shop.example/two"],
        scopes=["openid"],
    )
    page = text(console.get(f"/console/clients/{client.pk}/edit/"))
    assert "https://shop.example/cb\nhttps://shop.example/two</textarea>" in page
    assert 'name="client_id"' not in page  # fixed once created
    response = console.post(
        f"/console/clients/{client.pk}/edit/",
        {
            "name": "Shop",
            "grant_types": ["authorization_code"],
            "redirect_uris": "https://shop.example/cb",
            "scopes": ["openid"],
            "access_token_lifetime": "120",
        },
    )
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.redirect_uris == "https://shop.example/cb" and client.access_token_lifetime == 120
    assert event("client.updated").data["fields"] == ["access_token_lifetime", "redirect_uris"]


def test_disabling_a_client_asks_first_and_then_refuses_it_tokens(console, make_client):
    client, secret = make_client(client_id="svc", name="Service")
    assert "It gets no new tokens" in text(console.get(f"/console/clients/{client.pk}/active/"))
    console.post(f"/console/clients/{client.pk}/active/")
    client.refresh_from_db()
    assert not client.is_active and event("client.updated").data["fields"] == ["is_active"]
    token = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert "disabled" in text(console.get(f"/console/clients/{client.pk}/"))
    console.post(f"/console/clients/{client.pk}/active/")
    client.refresh_from_db()
    assert client.is_active


def test_deleting_a_client_says_how_many_live_tokens_end(console, make_user, web_client):
    make_user("ada")
    user_tokens(Client(), web_client, "ada", scope="openid offline_access")
    client, _ = web_client
    confirm = text(console.get(f"/console/clients/{client.pk}/delete/"))
    assert "2 live tokens" in confirm  # the access token and the refresh token
    response = console.post(f"/console/clients/{client.pk}/delete/")
    assert response["Location"] == "/console/clients/"
    assert not OAuthClient.objects.filter(client_id="webapp").exists()
    deleted = event("client.deleted")
    assert (deleted.target, deleted.actor) == ("webapp", "root")
    assert "webapp deleted; its tokens ended" in text(console.get("/console/clients/"))


def test_a_client_an_api_names_is_not_deleted(console, make_client, make_api):
    client, _ = make_client(client_id="orders-rs", name="Orders RS")
    make_api("https://orders.example/", client=client)
    response = console.post(f"/console/clients/{client.pk}/delete/", follow=True)
    assert "is the client of the API(s) https://orders.example/" in text(response)
    assert OAuthClient.objects.filter(client_id="orders-rs").exists()
    assert not AuditEvent.objects.filter(event="client.deleted").exists()


def test_editing_a_users_name_and_email(console, make_user):
    user = make_user("sam", name="Sam")
    path = f"/console/users/{user.pk}/edit/"
    bad = console.post(path, {"name": "Samuel Doe", "email": "not-an-email"})
    assert "Enter a valid email address." in text(bad) and 'value="Samuel Doe"' in text(bad)
    console.post(path, {"name": "Samuel Doe", "email": "samuel@example.com"})
    user.refresh_from_db()
    assert (user.name, user.email) == ("Samuel Doe", "samuel@example.com")
    assert event("user.updated").data["fields"] == ["email", "name"]


def test_deleting_a_user_says_how_many_live_tokens_end(console, admin, make_user, web_client):
    vera = make_user("vera")
    user_tokens(Client(), web_client, "vera", scope="openid offline_access")
    confirm = text(console.get(f"/console/users/{vera.pk}/delete/"))
    assert "2 live tokens" in confirm and "disable it instead" in confirm
    assert console.post(f"/console/users/{vera.pk}/delete/")["Location"] == "/console/users/"
    assert not User.objects.filter(username="vera").exists()
    assert (event("user.deleted").target, event("user.deleted").actor) == ("vera", "root")
    mine = console.post(f"/console/users/{admin.pk}/delete/", follow=True)
    assert "You cannot delete your own account." in text(mine)
    assert User.objects.filter(pk=admin.pk).exists()


def test_renaming_a_role_keeps_its_holders_and_is_audited(console, make_user):
    role = role_services.role_create(actor=APPLY, name="editors", permissions=["users:read"])
    role_services.role_create(actor=APPLY, name="taken")
    make_user("ed")
    role_services.user_roles_set(
        user=User.objects.get(username="ed"), assignments=[AssignmentSpec("editors")]
    )
    path = f"/console/roles/{role.pk}/edit/"
    clash = console.post(path, {"name": "taken", "permissions": "users:read"})
    assert "a role named &#x27;taken&#x27; already exists" in text(clash)
    assert 'value="taken"' in text(clash)  # what was typed stays
    console.post(path, {"name": "writers", "permissions": "users:read"})
    role.refresh_from_db()
    assert role.name == "writers"
    held = User.objects.get(username="ed").role_assignments.values_list("role__name", flat=True)
    assert list(held) == ["writers"]
    renamed = event("role.renamed")
    assert (renamed.target, renamed.data["previous"], renamed.actor) == (
        "writers",
        "editors",
        "root",
    )


def test_a_role_given_with_an_expiry_to_a_user_and_to_a_client(console, make_user, make_client):
    role_services.role_create(actor=APPLY, name="viewer", permissions=["users:read"])
    sam = make_user("sam")
    path = f"/console/users/{sam.pk}/assign/"
    past = console.post(path, {"role": "viewer", "expires_at": "2001-01-01T00:00"})
    assert "Must be in the future." in text(past) and 'value="2001-01-01T00:00"' in text(past)
    response = console.post(path, {"role": "viewer", "expires_at": "2099-05-01T12:30"})
    assert response["Location"] == f"/console/users/{sam.pk}/"
    row = sam.role_assignments.get()
    assert (row.role.name, f"{row.expires_at:%Y-%m-%d %H:%M}") == ("viewer", "2099-05-01 12:30")
    assert "viewer: until 2099-05-01 12:30 UTC" in text(console.get(response["Location"]))
    assigned = event("role.assigned")
    assert assigned.target == "user:sam" and assigned.data["expires_at"].startswith("2099-05-01")

    svc, _ = make_client(client_id="svc", name="Service")
    console.post(f"/console/clients/{svc.pk}/assign/", {"role": "viewer", "expires_at": ""})
    assert "viewer" in text(console.get(f"/console/clients/{svc.pk}/"))
    console.post(f"/console/clients/{svc.pk}/assign/", {"role": "viewer", "remove": "1"})
    assert AuditEvent.objects.filter(event="role.assigned", target="client:svc").exists()
    assert event("role.unassigned").target == "client:svc"


def test_clients_and_roles_are_searched_and_paged(console, make_client):
    for n in range(52):
        make_client(client_id=f"batch-{n:02}", name=f"Batch {n:02}")
    make_client(client_id="payroll", name="Payroll")
    found = text(console.get("/console/clients/?q=payr"))
    assert "payroll" in found and "batch-00" not in found
    first = text(console.get("/console/clients/?q=batch"))
    assert "Page 1 of 2" in first and 'href="?q=batch&amp;page=2"' in first
    second = text(console.get("/console/clients/?q=batch&page=2"))
    assert "batch-51" in second and "batch-00" not in second
    assert "No clients match." in text(console.get("/console/clients/?q=nothing-like-it"))

    role_services.role_create(actor=APPLY, name="payroll-clerk", description="Pays people")
    roles = text(console.get("/console/roles/?q=pays"))
    assert "payroll-clerk" in roles and "console-admin" not in roles
    assert 'aria-label="Role hierarchy"' in text(console.get("/console/roles/"))


def test_the_dashboard_counts_people_signed_in_and_links_its_totals(console, make_user, web_client):
    make_user("ada")
    make_user("bob", is_active=False)
    user_tokens(Client(), web_client, "ada", scope="openid offline_access")  # app + browser
    user_tokens(Client(), web_client, "ada", scope="openid offline_access")  # a second sign-in
    page = text(console.get("/console/"))
    # root in the console and ada (two app sessions, two browser sessions): two people
    assert (
        '<a class="stat" href="/console/tokens/"><span class="stat-value">2</span>'
        '<span class="stat-label">people signed in</span></a>'
    ) in page
    assert 'href="/console/audit/?event=login&amp;outcome=failure"' in page
    assert 'href="/console/users/?status=disabled"' in page
    disabled = text(console.get("/console/users/?status=disabled"))
    assert "bob" in disabled and "ada" not in disabled


def test_a_tls_client_auth_client_with_its_certificate_subject(console):
    data = {
        **NEW,
        "client_id": "orders",
        "grant_types": ["client_credentials"],
        "redirect_uris": "",
        "token_endpoint_auth_method": "tls_client_auth",
    }
    page = console.post("/console/clients/new/", data)
    assert page.status_code == 200  # the form again, the error beside the field
    assert "tls_client_auth needs exactly one of" in text(page)
    data["tls_client_auth_san_ip"] = "10.0.0.300"
    assert "is not valid" in text(console.post("/console/clients/new/", data))
    data.update(tls_client_auth_san_ip="10.0.0.3", tls_client_certificate_bound_access_tokens="on")
    response = console.post("/console/clients/new/", data)
    client = OAuthClient.objects.get(client_id="orders")
    assert response["Location"] == f"/console/clients/{client.pk}/"  # no secret to show
    assert client.client_secret == "" and client.tls_client_auth_san_ip == "10.0.0.3"
    detail = text(console.get(response["Location"]))
    assert (
        "naming <code>10.0.0.3</code>" in detail and "bound to its TLS client certificate" in detail
    )
