"""The server as stock client libraries see it: authlib, requests-oauthlib and PyJWT over HTTP."""

import re
import secrets

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

from tests.conftest import PASSWORD, REDIRECT_URI

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture
def issuer(live_server, settings):
    """Point every issuer-derived setting at the live server's address."""
    base = live_server.url
    settings.ISSUER_URL = base
    settings.CSRF_TRUSTED_ORIGINS = [base]
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": base}
    return base


@pytest.fixture
def discovery(issuer):
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


def signed_in_browser(issuer: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{issuer}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = browser.post(
        f"{issuer}/accounts/login/",
        data={"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    return browser


def test_discovery_issuer_matches_the_url(discovery, issuer):
    assert discovery["issuer"] == issuer
    assert requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]


def test_authlib_code_flow_with_pkce_and_id_token_validation(
    discovery, issuer, web_client, make_user
):
    make_user("alice")
    client_obj, secret = web_client
    session = OAuth2Session(
        client_obj.client_id,
        secret,
        scope="openid profile email offline_access",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = signed_in_browser(issuer)
    redirect = browser.get(url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith(REDIRECT_URI)

    token = session.fetch_token(
        discovery["token_endpoint"],
        authorization_response=redirect.headers["Location"],
        code_verifier=verifier,
    )
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token["id_token"])
    claims = jwt.decode(
        token["id_token"],
        signing_key.key,
        algorithms=discovery["id_token_signing_alg_values_supported"],
        audience=client_obj.client_id,
        issuer=issuer,
    )
    assert claims["nonce"] == nonce and claims["preferred_username"] == "alice"

    userinfo = session.get(discovery["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == claims["sub"]

    refreshed = session.refresh_token(
        discovery["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["access_token"] != token["access_token"]

    introspection = requests.post(
        discovery["introspection_endpoint"],
        data={"token": refreshed["access_token"]},
        auth=(client_obj.client_id, secret),
        timeout=10,
    ).json()
    assert introspection["active"] is True and introspection["username"] == "alice"

    revoked = requests.post(
        discovery["revocation_endpoint"],
        data={"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(client_obj.client_id, secret),
        timeout=10,
    )
    assert revoked.status_code == 200
    after = requests.post(
        discovery["introspection_endpoint"],
        data={"token": refreshed["access_token"]},
        auth=(client_obj.client_id, secret),
        timeout=10,
    ).json()
    assert after == {"active": False}


def test_requests_oauthlib_client_credentials_and_offline_jwt_verification(
    discovery, make_client, monkeypatch
):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http
    _svc, secret = make_client(client_id="svc", scopes=["orders:read"])
    from oauthlib.oauth2 import BackendApplicationClient

    session = RequestsOAuth2Session(client=BackendApplicationClient(client_id="svc"))
    token = session.fetch_token(
        discovery["token_endpoint"], client_id="svc", client_secret=secret, scope=["orders:read"]
    )
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(
        token["access_token"], key.key, algorithms=["ES256"], audience=discovery["issuer"]
    )
    assert claims["client_id"] == "svc" and claims["scope"] == "orders:read"


def test_native_app_loopback_redirect_accepts_any_port(discovery, issuer, make_client, make_user):
    make_user("alice")
    make_client(
        client_id="native",
        type="public",
        grant_types=["authorization_code"],
        redirect_uris=["http://127.0.0.1/cb"],
        scopes=["openid"],
        skip_consent=True,
    )
    session = OAuth2Session(
        "native",
        scope="openid",
        redirect_uri="http://127.0.0.1:53127/cb",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = session.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier
    )
    redirect = signed_in_browser(issuer).get(url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("http://127.0.0.1:53127/cb?")
    token = session.fetch_token(
        discovery["token_endpoint"],
        authorization_response=redirect.headers["Location"],
        code_verifier=verifier,
    )
    assert "access_token" in token and "refresh_token" not in token
