"""One validation of a client behind ``apply``, the management API and the console
(``oauth.services.client_errors``): each refuses the same bad input, naming every field."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from oauth import services as client_services
from oauth.models import Client
from tests.configfiles import apply

BAD = {
    "client_id": "new one",
    "name": "Shop",
    "grant_types": ["authorization_code"],
    "redirect_uris": ["http://evil.example/cb"],
    "post_logout_redirect_uris": ["https://ok.example/bye#x"],
    "scopes": ['say"hi'],
    "access_token_lifetime": 0,
}


def test_every_reason_is_named_at_once_and_nothing_is_written(make_client):
    make_client(client_id="shop", name="Shop")
    errors = client_services.client_errors(BAD)
    assert set(errors) == {
        "client_id",
        "name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "scopes",
        "access_token_lifetime",
    }
    assert errors["name"] == ["a client named 'Shop' already exists"]
    assert Client.objects.count() == 1
    assert client_services.client_errors({"name": "Shop"}, client=Client.objects.get()) == {}


def test_apply_refuses_a_duplicate_name(tmp_path, make_client):
    make_client(client_id="shop", name="Shop")
    text = "clients: [{client_id: other, name: Shop, grant_types: [client_credentials]}]\n"
    with pytest.raises(CommandError) as excinfo:
        apply(tmp_path, text)
    assert "a client named 'Shop' already exists" in str(excinfo.value)
    assert not Client.objects.filter(client_id="other").exists()


@pytest.mark.parametrize("uri", ["https://a.example/x y", "https://a.example/\tcb"])
def test_a_uri_with_whitespace_is_refused_not_split(db, uri):
    spec = {"grant_types": ["authorization_code"], "redirect_uris": [uri]}
    assert (
        f"{uri}: a URI cannot contain spaces"
        in client_services.client_errors(spec)["redirect_uris"]
    )
