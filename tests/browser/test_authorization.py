"""In a real browser: the consent form and a sign-in continuing an authorization request end in
a redirect to the client, which the CSP's ``form-action`` must allow (chromium checks it on the
redirects after a form submission) and allows for nobody else."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from oauth import formaction
from tests.browser.conftest import sign_in_with_password
from tests.conftest import PASSWORD, REDIRECT_URI, authorize_params, pkce_pair, query_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reached(browser_page):
    """URLs of the client's origin that chromium navigated to (answered here, no network)."""
    urls: list[str] = []

    def answer(route) -> None:  # noqa: ANN001
        urls.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>client</p>")

    browser_page.route("https://app.example.com/**", answer)
    return urls


def authorization_path(client_id: str) -> str:
    _verifier, challenge = pkce_pair()
    return "/o/authorize/?" + urlencode(authorize_params(client_id, challenge, scope="openid"))


def test_the_consent_form_redirects_to_the_client(browser_page, reached, make_user, make_client):
    page = browser_page
    make_user("alice")
    make_client(
        client_id="thirdparty",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
    )
    sign_in_with_password(page, "alice", PASSWORD)
    page.wait_for_load_state()
    page.goto(authorization_path("thirdparty"))
    page.click("input[name=allow], button[name=allow]")
    page.wait_for_url("https://app.example.com/**")
    answer = query_of(reached[0])
    assert "code" in answer and answer["state"] == "st-123" and answer["iss"]


@pytest.mark.parametrize("listed", [True, False])
def test_sign_in_continuing_an_authorization_redirects_to_the_client(
    browser_page, reached, make_user, web_client, monkeypatch, listed
):
    """Password form -> /o/authorize/ -> the client, all one form submission. Without the
    client's origin in ``form-action`` (``listed=False``) chromium refuses the last redirect."""
    page = browser_page
    make_user("alice")
    if not listed:
        monkeypatch.setattr(formaction, "origins", lambda urls: [])
    page.goto(authorization_path("webapp"))
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    if listed:
        page.wait_for_url("https://app.example.com/**")
        assert "code" in query_of(reached[0])
    else:
        page.wait_for_timeout(1500)
        assert reached == []
