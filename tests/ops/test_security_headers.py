"""The CSP's ``form-action``: this origin, plus the registered redirect origin a page's forms
lead to (browsers apply it to the redirects after a form submission too)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.conftest import PASSWORD, REDIRECT_URI, authorize_params, pkce_pair
from tests.mfa.conftest import clock, totp_user  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

APP_ORIGIN = "https://app.example.com"


def form_action(response) -> list[str]:
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return policy["form-action"].split()


def authorization_url(client_id: str, **extra: str) -> str:
    _verifier, challenge = pkce_pair()
    return "/o/authorize/?" + urlencode(authorize_params(client_id, challenge, **extra))


@pytest.fixture
def thirdparty(make_client):
    """A client that asks for consent, with two registered redirect URIs."""
    return make_client(
        client_id="thirdparty",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI, "https://other.example.net/cb"],
        post_logout_redirect_uris=["https://app.example.com/bye"],
        scopes=["openid"],
    )


def test_pages_without_a_client_in_play_allow_this_origin_only(client, signed_in):
    assert form_action(client.get("/accounts/login/")) == ["'self'"]
    assert form_action(signed_in.get("/mfa/")) == ["'self'"]


def test_the_consent_page_allows_the_origin_of_this_requests_redirect_uri(signed_in, thirdparty):
    page = signed_in.get(authorization_url("thirdparty", scope="openid"))
    assert page.status_code == 200 and b"Allow" in page.content
    assert form_action(page) == ["'self'", APP_ORIGIN]  # not the other registered origin


def test_sign_in_continuing_an_authorization_allows_its_redirect_origin(client, thirdparty):
    page = client.get("/accounts/login/", {"next": authorization_url("thirdparty")})
    assert form_action(page) == ["'self'", APP_ORIGIN]


@pytest.mark.parametrize(
    "next_url",
    [
        authorization_url("thirdparty", redirect_uri="https://evil.example/cb"),
        authorization_url("nobody"),
        "https://evil.example/o/authorize/?client_id=thirdparty",
    ],
)
def test_an_unregistered_redirect_adds_nothing(client, thirdparty, next_url):
    page = client.get("/accounts/login/", {"next": next_url})
    assert form_action(page) == ["'self'"]


@pytest.mark.parametrize(
    "next_url", ["http://[", "/o/authorize/?redirect_uri=http://[&client_id=x"]
)
def test_a_next_that_is_no_url_adds_nothing(client, thirdparty, next_url):
    page = client.get("/accounts/login/", {"next": next_url})
    assert page.status_code == 200
    assert form_action(page) == ["'self'"]


@pytest.mark.usefixtures("totp_user")
def test_the_second_factor_page_allows_the_pending_sign_ins_redirect_origin(client, thirdparty):
    first = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": authorization_url("thirdparty")},
    )
    assert first.status_code == 302 and first["Location"].startswith("/mfa/authenticate/")
    assert form_action(client.get(first["Location"])) == ["'self'", APP_ORIGIN]


def test_the_logout_page_allows_the_registered_post_logout_origin(signed_in, thirdparty):
    page = signed_in.get(
        "/o/logout/",
        {"client_id": "thirdparty", "post_logout_redirect_uri": "https://app.example.com/bye"},
    )
    assert page.status_code == 200
    assert form_action(page) == ["'self'", APP_ORIGIN]


def test_a_failed_sign_in_keeps_the_redirect_origin_of_its_next(client, thirdparty):
    page = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "wrong", "next": authorization_url("thirdparty")},
    )
    assert page.status_code == 200
    assert form_action(page) == ["'self'", APP_ORIGIN]


def test_a_post_the_view_never_read_is_not_parsed_for_its_next(client):
    """The page's own answer stands: 1,001 fields (over Django's limit) sent to a page that
    does not read them is still its 404, not a 400 from reading the body afterwards."""
    fields = {f"f{i}": "x" for i in range(1001)}
    assert client.post("/no-such-page/", fields).status_code == 404
