"""Client credentials grant and the token endpoint's error handling (RFC 6749 §2.3, §4.4, §5)."""

from urllib.parse import urlencode

import jwt
import pytest

from core.actors import APPLY
from tests.apis import allow_resources, register_api
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(make_client):
    return make_client(client_id="svc", scopes=["orders:read", "orders:write"])


def token(client, data, auth=None, **extra):
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post("/o/token/", data, **headers, **extra)


def test_client_credentials_issues_a_short_lived_access_token_only(client, service):
    svc, secret = service
    response = token(
        client,
        {"grant_type": "client_credentials", "scope": "orders:read"},
        basic_auth("svc", secret),
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    body = response.json()
    assert body["scope"] == "orders:read" and body["expires_in"] == 600
    assert "refresh_token" not in body and "id_token" not in body


def test_client_secret_post_works_too(client, service):
    _svc, secret = service
    data = {"grant_type": "client_credentials", "client_id": "svc", "client_secret": secret}
    assert token(client, data).status_code == 200


def test_per_client_lifetime(client, make_client):
    _c, secret = make_client(client_id="short", access_token_lifetime=120)
    response = token(client, {"grant_type": "client_credentials"}, basic_auth("short", secret))
    assert response.json()["expires_in"] == 120


def test_scope_beyond_the_client_is_invalid_scope(client, service):
    _svc, secret = service
    response = token(
        client, {"grant_type": "client_credentials", "scope": "admin"}, basic_auth("svc", secret)
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "auth",
    [basic_auth("svc", "wrong"), basic_auth("nobody", "x"), "Basic !!!notbase64", None],
)
def test_bad_client_authentication_is_invalid_client(client, service, auth):
    response = token(client, {"grant_type": "client_credentials"}, auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["Cache-Control"] == "no-store"
    if auth and auth.startswith("Basic"):
        assert response["WWW-Authenticate"].startswith("Basic")


def test_two_authentication_methods_at_once_are_refused(client, service):
    _svc, secret = service
    data = {"grant_type": "client_credentials", "client_secret": secret}
    response = token(client, data, basic_auth("svc", secret))
    assert response.status_code in (400, 401)
    assert response.json()["error"] in {"invalid_request", "invalid_client"}


def test_password_grant_is_not_supported(client, service, make_user):
    make_user("alice")
    _svc, secret = service
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": "correct horse battery staple",
    }
    response = token(client, data, basic_auth("svc", secret))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert "access_token" not in response.json()


def test_missing_or_unknown_grant_type(client, service):
    _svc, secret = service
    missing = token(client, {}, basic_auth("svc", secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    unknown = token(client, {"grant_type": "foo"}, basic_auth("svc", secret))
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"


def test_grant_not_registered_for_the_client_is_unauthorized(client, make_client):
    _c, secret = make_client(
        client_id="web", grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"]
    )
    response = token(client, {"grant_type": "client_credentials"}, basic_auth("web", secret))
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


def test_get_json_and_multipart_never_500(client, service):
    _svc, secret = service
    assert client.get("/o/token/").status_code == 405
    as_json = client.post(
        "/o/token/",
        '{"grant_type": "client_credentials"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    assert as_json.status_code == 400
    assert as_json["Cache-Control"] == "no-store"


def test_public_client_cannot_use_client_credentials(make_client):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_client(client_id="spa", type="public", grant_types=["client_credentials"])


def test_disabled_client_gets_no_token(client, service):
    from oauth import services

    svc, secret = service
    services.client_update(actor=APPLY, client=svc, spec={"is_active": False})
    response = token(client, {"grant_type": "client_credentials"}, basic_auth("svc", secret))
    assert response.status_code == 401


def test_secret_is_stored_as_a_keyed_hash(service):
    svc, secret = service
    svc.refresh_from_db()
    assert svc.client_secret.startswith("hmac_sha256$") and secret not in svc.client_secret
    assert len(secret) >= 43  # 256 bits, base64url


def test_a_secret_stored_in_clear_never_authenticates(client, service):
    """DOT compares a stored value that is not a hash as plain text; we do not (a secret
    written behind the application's back must not become a working password)."""
    from oauth.models import Client

    Client.objects.filter(client_id="svc").update(client_secret="plain-secret")
    response = token(
        client, {"grant_type": "client_credentials"}, basic_auth("svc", "plain-secret")
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    introspection = client.post(
        "/o/introspect/", {"token": "x"}, HTTP_AUTHORIZATION=basic_auth("svc", "plain-secret")
    )
    assert introspection.status_code == 401


def test_resource_indicators_become_the_audience(client, service):
    """RFC 8707: each ``resource`` (a registered API the client lists) is an audience of the
    token (a repeated parameter too)."""
    svc, secret = service
    for api in ("https://a.example", "https://b.example"):
        register_api(api)
    allow_resources(svc, "https://a.example", "https://b.example")

    def audience(*resources: str):
        body = urlencode(
            [("grant_type", "client_credentials")] + [("resource", r) for r in resources]
        )
        response = client.post(
            "/o/token/",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_auth("svc", secret),
        )
        assert response.status_code == 200, response.content
        claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
        return claims["aud"], claims["iss"]

    assert audience("https://a.example")[0] == ["https://a.example"]
    assert audience("https://a.example", "https://b.example")[0] == [
        "https://a.example",
        "https://b.example",
    ]
    aud, iss = audience()
    assert aud == iss
    bad = token(
        client,
        {"grant_type": "client_credentials", "resource": "not-a-uri"},
        basic_auth("svc", secret),
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_target"


def test_machine_endpoints_need_no_csrf_token_under_the_full_middleware(service, resource_server):
    """``machine_view`` marks the token and introspection views CSRF-exempt; the test client
    runs the browser middleware stack, CsrfViewMiddleware included, and here enforces it."""
    from django.test import Client as HttpClient

    http = HttpClient(enforce_csrf_checks=True)
    _svc, secret = service
    issued = token(http, {"grant_type": "client_credentials"}, basic_auth("svc", secret))
    assert issued.status_code == 200
    rs_client, rs_secret = resource_server
    answer = http.post(
        "/o/introspect/",
        {"token": issued.json()["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs_client.client_id, rs_secret),
    )
    assert answer.status_code == 200 and answer.json()["active"] is True
