"""Client-credentials access tokens are not stored: signed, revocable by jti, checked per call."""

import jwt
import pytest
from oauth2_provider.models import get_access_token_model

from core.actors import APPLY
from oauth import keys
from oauth.maintenance import expired_clear
from oauth.models import RevokedToken, SigningKey
from tests.conftest import basic_auth, introspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(make_client):
    return make_client(client_id="svc", scopes=["orders:read"])


def issue(client, secret, client_id="svc"):
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "orders:read"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def revoke(client, token, client_id, secret):
    return client.post(
        "/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(client_id, secret)
    )


def test_issuing_writes_no_token_row_and_the_token_is_active(client, service, resource_server):
    _svc, secret = service
    token = issue(client, secret)
    assert not get_access_token_model().objects.exists()
    assert introspect(client, resource_server, token)["active"] is True


def test_the_token_is_a_signed_rfc9068_jwt_marked_as_a_client_token(client, service):
    _svc, secret = service
    token = issue(client, secret)
    header = jwt.get_unverified_header(token)
    public = keys.verification_key(header["kid"]).private_key.public_key()
    claims = jwt.decode(token, public, algorithms=[header["alg"]], options={"verify_aud": False})
    assert header["typ"] == "at+jwt"
    assert claims["gty"] == "client_credentials" and claims["sub"] == claims["client_id"] == "svc"


def test_revocation_by_its_client_is_immediate_and_idempotent(client, service, resource_server):
    _svc, secret = service
    token = issue(client, secret)
    assert introspect(client, resource_server, token)["active"] is True  # verified and cached
    assert revoke(client, token, "svc", secret).status_code == 200
    assert introspect(client, resource_server, token) == {"active": False}
    assert revoke(client, token, "svc", secret).status_code == 200
    assert RevokedToken.objects.filter(client_id="svc").count() == 1
    assert introspect(client, resource_server, issue(client, secret))["active"] is True


def test_another_client_cannot_revoke_it(client, service, make_client, resource_server):
    _svc, secret = service
    _other, other_secret = make_client(client_id="other")
    token = issue(client, secret)
    assert revoke(client, token, "other", other_secret).status_code == 200  # RFC 7009 §2.2
    assert introspect(client, resource_server, token)["active"] is True
    assert not RevokedToken.objects.exists()


def test_deactivating_or_deleting_the_client_ends_its_tokens(client, service, resource_server):
    svc, secret = service
    token = issue(client, secret)
    assert introspect(client, resource_server, token)["active"] is True
    from oauth import services as client_services

    client_services.client_update(actor=APPLY, client=svc, spec={"is_active": False})
    assert introspect(client, resource_server, token) == {"active": False}
    client_services.client_update(actor=APPLY, client=svc, spec={"is_active": True})
    assert introspect(client, resource_server, token)["active"] is True
    svc.delete()  # through the ORM, not a service: the model signal still tells the caches
    assert introspect(client, resource_server, token) == {"active": False}


def test_a_forged_signature_is_inactive_even_after_the_real_token_was_seen(
    client, service, resource_server
):
    _svc, secret = service
    token = issue(client, secret)
    assert introspect(client, resource_server, token)["active"] is True
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert introspect(client, resource_server, forged) == {"active": False}


def test_a_user_token_cannot_claim_to_be_a_client_token(code_flow, client, resource_server):
    import base64
    import json

    header, payload, signature = code_flow.tokens()["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["gty"] = "client_credentials"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert introspect(client, resource_server, f"{header}.{tampered}.{signature}") == {
        "active": False
    }


def test_a_token_whose_key_is_no_longer_published_is_inactive(client, service, resource_server):
    _svc, secret = service
    token = issue(client, secret)
    assert introspect(client, resource_server, token)["active"] is True
    SigningKey.objects.filter(kid=jwt.get_unverified_header(token)["kid"]).delete()
    keys.clear_cache()
    assert introspect(client, resource_server, token) == {"active": False}


def test_revocations_are_forgotten_once_the_token_has_expired(client, service):
    from datetime import timedelta

    from django.utils import timezone

    _svc, secret = service
    revoke(client, issue(client, secret), "svc", secret)
    assert expired_clear().revocations == 0
    assert expired_clear(now=timezone.now() + timedelta(seconds=601)).revocations == 1
    assert not RevokedToken.objects.exists()
