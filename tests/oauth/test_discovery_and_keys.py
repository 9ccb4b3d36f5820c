"""Discovery (OIDC Discovery §3, RFC 8414), JWKS and signing-key rotation."""

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command

from oauth.models import SigningKey
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


def test_openid_configuration_lists_what_exists_and_only_that(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    base = settings.ISSUER_URL
    assert doc["issuer"] == base
    for name, path in {
        "authorization_endpoint": "/o/authorize/",
        "token_endpoint": "/o/token/",
        "userinfo_endpoint": "/o/userinfo/",
        "jwks_uri": "/o/jwks/",
        "introspection_endpoint": "/o/introspect/",
        "revocation_endpoint": "/o/revoke_token/",
        "device_authorization_endpoint": "/o/device-authorization/",
        "end_session_endpoint": "/o/logout/",
    }.items():
        assert doc[name] == base + path
        assert client.options(path).status_code != 404 or client.get(path).status_code != 404
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert (
        "password" not in doc["grant_types_supported"]
        and "implicit" not in doc["grant_types_supported"]
    )
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert doc["authorization_response_iss_parameter_supported"] is True


def test_rfc8414_metadata_matches(client):
    oidc = client.get("/.well-known/openid-configuration").json()
    oauth = client.get("/.well-known/oauth-authorization-server").json()
    assert oauth["issuer"] == oidc["issuer"]
    assert oauth["token_endpoint"] == oidc["token_endpoint"]
    assert "userinfo_endpoint" not in oauth
    assert oauth["ui_locales_supported"] == oidc["ui_locales_supported"] == ["en", "de"]


def test_jwks_publishes_public_keys_only(client):
    keys = client.get("/o/jwks/").json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


def test_private_keys_are_encrypted_at_rest(client):
    client.get("/o/jwks/")
    for row in SigningKey.objects.all():
        assert "PRIVATE KEY" not in row.private_key


def test_rotation_keeps_old_tokens_verifiable(client, make_client):
    _c, secret = make_client(client_id="svc")
    old = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    ).json()
    old_kid = jwt.get_unverified_header(old["access_token"])["kid"]
    call_command("rotate_keys")
    new = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    ).json()
    new_kid = jwt.get_unverified_header(new["access_token"])["kid"]
    assert new_kid != old_kid
    jwks = jwt.PyJWKSet.from_dict(client.get("/o/jwks/").json())
    for token in (old["access_token"], new["access_token"]):
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwks.keys if k.key_id == kid)
        jwt.decode(token, key, algorithms=["ES256"], audience=settings.ISSUER_URL)
