"""The console's APIs pages: the list with what uses each API, register, edit, delete; and the
client form's resources."""

from __future__ import annotations

from audit.models import AuditEvent
from console import access
from oauth.models import Api, Client
from tests.console.conftest import sign_in, text
from tests.oauth.apis import ORDERS, allow, register_api, tokens_for

FORM = {
    "identifier": ORDERS,
    "name": "Orders API",
    "client": "orders-rs",
    "scopes": "orders:read orders:write",
    "access_token_lifetime": "300",
}


def test_the_list_shows_each_api_its_client_scopes_users_and_live_tokens(admin, code_flow):
    api = register_api(client="webapp", scopes=["orders:read"])
    tokens_for(code_flow)  # alice signs in to webapp, which gets tokens for the API
    console = sign_in(code_flow.browser, admin)
    page = console.get("/console/apis/")
    assert page.status_code == 200
    [row] = [r for r in page.context["rows"] if r[0].pk == api.pk]
    assert (row[2].clients, row[2].tokens) == (("webapp",), 2)  # an access and a refresh token
    html = text(page)
    assert f"<code>{ORDERS}</code>" in html and "Orders API" in html
    assert '<span class="tag">orders:read</span>' in html
    assert "<td><code>webapp</code></td>" in html and "<td>2</td>" in html
    assert "Management API" in html and "built-in" in html
    assert f'href="/console/apis/{api.pk}/delete/"' in html


def test_registering_an_api_is_audited_with_the_admin(console, make_client):
    make_client(client_id="orders-rs")
    response = console.post("/console/apis/new/", FORM)
    assert response.status_code == 302 and response["Location"] == "/console/apis/"
    api = Api.objects.get(identifier=ORDERS)
    assert (api.client.client_id, api.scopes, api.access_token_lifetime) == (
        "orders-rs",
        ["orders:read", "orders:write"],
        300,
    )
    assert "API Orders API registered." in text(console.get("/console/apis/"))
    [event] = AuditEvent.objects.filter(event="api.created")
    assert (event.actor, event.target) == ("root", f"api:{ORDERS}")


def test_bad_input_is_explained_on_the_form(console):
    register_api()
    for data, message in [
        ({**FORM, "client": "", "identifier": "orders"}, "must be an absolute URI"),
        ({**FORM, "client": "", "scopes": 'a"b'}, "is not a scope name"),
        ({**FORM, "client": ""}, "an API with this identifier already exists"),
        ({**FORM, "client": "nobody"}, "Select a valid choice"),
        ({**FORM, "client": "", "access_token_lifetime": "0"}, "greater than or equal to 1"),
    ]:
        response = console.post("/console/apis/new/", data)
        assert response.status_code == 200
        assert message in text(response).replace("&#x27;", "'"), data
    assert Api.objects.count() == 2


def test_editing_an_api_and_the_fixed_fields_of_the_builtin(console):
    api = register_api()
    response = console.post(f"/console/apis/{api.pk}/edit/", {**FORM, "client": "", "name": "O"})
    assert response.status_code == 302
    api.refresh_from_db()
    assert (api.name, api.scopes) == ("O", ["orders:read", "orders:write"])
    builtin = Api.objects.get(identifier="management")
    form = console.get(f"/console/apis/{builtin.pk}/edit/")
    assert 'name="identifier" value="management"' in text(form) and "disabled" in text(form)
    tampered = {"identifier": "https://evil.example/", "scopes": "x", "name": "Admin API"}
    console.post(f"/console/apis/{builtin.pk}/edit/", tampered)
    builtin.refresh_from_db()
    assert (builtin.identifier, builtin.scopes, builtin.name) == (
        "management",
        ["management"],
        "Admin API",
    )


def test_deleting_asks_first_says_what_uses_the_api_and_refuses_while_used(console, make_client):
    api = register_api()
    client, _ = make_client(client_id="billing")
    allow(client, ORDERS)
    confirm = console.get(f"/console/apis/{api.pk}/delete/")
    assert confirm.status_code == 200
    assert "<code>billing</code>" in text(confirm)
    assert "cannot be deleted while it is in use" in text(confirm)
    refused = console.post(f"/console/apis/{api.pk}/delete/")
    assert refused.status_code == 400
    assert "billing list it in their resources" in text(refused)
    assert Api.objects.filter(pk=api.pk).exists()

    Client.objects.filter(pk=client.pk).update(resources=[])
    assert "Nothing uses this API." in text(console.get(f"/console/apis/{api.pk}/delete/"))
    deleted = console.post(f"/console/apis/{api.pk}/delete/")
    assert deleted["Location"] == "/console/apis/"
    assert not Api.objects.filter(pk=api.pk).exists()
    assert AuditEvent.objects.get(event="api.deleted").actor == "root"


def test_the_builtin_api_offers_no_delete(console):
    builtin = Api.objects.get(identifier="management")
    page = console.get(f"/console/apis/{builtin.pk}/delete/")
    assert "The built-in management API cannot be deleted." in text(page)
    assert console.post(f"/console/apis/{builtin.pk}/delete/").status_code == 400
    assert Api.objects.filter(pk=builtin.pk).exists()


def test_the_client_form_sets_resources(console, make_client):
    register_api()
    client, _ = make_client(
        client_id="shop",
        name="Shop",
        grant_types=["authorization_code"],
        redirect_uris=["https://shop.example/cb"],
    )
    form = text(console.get(f"/console/clients/{client.pk}/edit/"))
    assert f'value="{ORDERS}"' in form and 'value="management"' in form
    data = {
        "name": "Shop",
        "grant_types": ["authorization_code"],
        "redirect_uris": "https://shop.example/cb",
        "resources": [ORDERS, "management"],
    }
    assert console.post(f"/console/clients/{client.pk}/edit/", data).status_code == 302
    client.refresh_from_db()
    assert client.resources == [ORDERS, "management"]
    assert f"<code>{ORDERS}</code>" in text(console.get(f"/console/clients/{client.pk}/"))
    bad = console.post(
        f"/console/clients/{client.pk}/edit/", {**data, "resources": ["https://no.example/"]}
    )
    assert "Select a valid choice" in text(bad)


def test_reading_apis_does_not_allow_writing(client, make_user, grant_roles):
    api = register_api()
    reader = make_user("rita")
    grant_roles(reader, access.CONSOLE_ACCESS, access.CLIENTS_READ)
    sign_in(client, reader)
    listing = text(client.get("/console/apis/"))
    assert ORDERS in listing and "Register an API" not in listing and "/delete/" not in listing
    assert 'href="/console/apis/"' in listing  # the navigation link
    assert client.get("/console/apis/new/").status_code == 403
    assert client.post(f"/console/apis/{api.pk}/delete/").status_code == 403
    assert Api.objects.filter(pk=api.pk).exists()
