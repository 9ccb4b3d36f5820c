"""UserInfo (OIDC Core §5.3, RFC 6750) and RP-initiated logout."""

import pytest

pytestmark = pytest.mark.django_db


def test_userinfo_with_bearer_header(code_flow, client):
    tokens = code_flow.tokens()
    for method in (client.get, client.post):
        response = method("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        assert response.status_code == 200
        body = response.json()
        assert body["sub"] == str(code_flow.browser.user.pk)
        assert body["email"] == "alice@example.com" and body["preferred_username"] == "alice"


def test_userinfo_releases_only_granted_scopes(code_flow, client):
    tokens = code_flow.tokens(scope="openid")
    body = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert "email" not in body and "preferred_username" not in body


def test_userinfo_rejects_bad_or_query_tokens(code_flow, client):
    tokens = code_flow.tokens()
    bad = client.get("/o/userinfo/", HTTP_AUTHORIZATION="Bearer nope")
    assert bad.status_code == 401 and 'error="invalid_token"' in bad["WWW-Authenticate"]
    in_query = client.get("/o/userinfo/", {"access_token": tokens["access_token"]})
    assert in_query.status_code in (400, 401)


def test_rp_initiated_logout_ends_the_session(code_flow):
    tokens = code_flow.tokens()
    browser = code_flow.browser
    page = browser.get("/o/logout/", {"id_token_hint": tokens["id_token"], "client_id": "webapp"})
    assert page.status_code == 200
    browser.post(
        "/o/logout/",
        {"id_token_hint": tokens["id_token"], "client_id": "webapp", "allow": "Log out"},
    )
    after = browser.get("/o/authorize/", {"client_id": "webapp"})
    assert after.status_code == 302 and "/accounts/login/" in after["Location"]
