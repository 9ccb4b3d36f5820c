"""The console's identity provider pages: list, create (then the redirect URI to register),
edit with the secret kept when left empty, delete."""

from __future__ import annotations

from audit.models import AuditEvent
from core.actors import APPLY
from federation.models import IdentityProvider
from roles import group_services
from roles import services as role_services
from tests.console.conftest import text

FORM = {
    "slug": "corp",
    "name": "Corp SSO",
    "kind": "oidc",
    "issuer": "https://login.corp.example",
    "client_id": "authserver",
    "client_secret": "upstream-secret",
    "token_endpoint_auth_method": "client_secret_basic",
    "scopes": "openid email profile groups",
    "link_by": "verified_email",
    "provision": "on",
    "role_mapping": "groups=platform-admins -> console-admin",
    "exclusive_clients": "",
    "enabled": "on",
}


def test_create_shows_the_redirect_uri_and_edit_keeps_the_secret(console):
    created = console.post("/console/identity-providers/new/", FORM)
    assert created.status_code == 302, text(created)
    assert created["Location"] == "/console/identity-providers/corp/edit/"
    page = text(console.get(created["Location"]))
    assert "/accounts/login/corp/callback/" in page
    assert "upstream-secret" not in page
    provider = IdentityProvider.objects.get(slug="corp")
    assert provider.role_mapping == [
        {"claim": "groups", "value": "platform-admins", "roles": ["console-admin"]}
    ]
    assert (AuditEvent.objects.get(event="identity_provider.created").actor) == "root"

    edited = console.post(
        "/console/identity-providers/corp/edit/", {**FORM, "client_secret": "", "name": "Corp"}
    )
    assert edited.status_code == 302
    provider.refresh_from_db()
    assert (provider.name, provider.client_secret) == ("Corp", "upstream-secret")
    listed = text(console.get("/console/identity-providers/"))
    assert "Corp" in listed and "/accounts/login/corp/callback/" in listed


def test_bad_input_is_explained_on_the_form(console):
    for data, message in [
        ({**FORM, "role_mapping": "groups platform-admins"}, "write claim=value -&gt; role"),
        ({**FORM, "role_mapping": "groups=x -> nobody"}, "unknown role"),
        ({**FORM, "issuer": "ftp://x"}, "must be an https:// URL"),
        ({**FORM, "client_secret": ""}, "needed unless token_endpoint_auth_method"),
    ]:
        response = console.post("/console/identity-providers/new/", data)
        assert response.status_code == 200
        assert message in text(response).replace("&#x27;", "'"), data
    assert not IdentityProvider.objects.exists()


def test_delete_asks_then_deletes(console):
    console.post("/console/identity-providers/new/", FORM)
    page = console.get("/console/identity-providers/corp/delete/")
    assert "0 users linked" in text(page)
    assert console.post("/console/identity-providers/corp/delete/").status_code == 302
    assert not IdentityProvider.objects.exists()
    assert AuditEvent.objects.filter(event="identity_provider.deleted").exists()


def test_a_rule_maps_to_local_groups_checked_and_guarded(console):
    role_services.role_create(actor=APPLY, name="wiki-reader", permissions=["wiki:read"])
    group_services.group_create(actor=APPLY, name="beyond", roles=["wiki-reader"])
    group_services.group_create(actor=APPLY, name="readers")
    line = "groups=staff -> console-admin | readers"
    created = console.post("/console/identity-providers/new/", {**FORM, "role_mapping": line})
    assert created.status_code == 302, text(created)
    provider = IdentityProvider.objects.get(slug="corp")
    assert provider.role_mapping == [
        {"claim": "groups", "value": "staff", "roles": ["console-admin"], "groups": ["readers"]}
    ]
    assert line.replace(">", "&gt;") in text(console.get(created["Location"]))
    for mapping, message in [
        ("groups=x -> | nowhere", "unknown group 'nowhere'"),
        ("groups=x -> |", "write claim=value -&gt; role role | group group"),
        ("groups=x -> | beyond", "wiki:read"),  # the group gives what the admin lacks
    ]:
        response = console.post(
            "/console/identity-providers/corp/edit/", {**FORM, "role_mapping": mapping}
        )
        assert message in text(response).replace("&#x27;", "'"), mapping
    provider.refresh_from_db()
    assert provider.role_mapping[0]["groups"] == ["readers"]
