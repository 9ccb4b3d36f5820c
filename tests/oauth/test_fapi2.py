"""The FAPI 2.0 Security Profile for a client (``profile: fapi2``): only pushed authorization
requests, ``private_key_jwt`` with PS256/ES256, DPoP-bound tokens with PS256/ES256 proofs,
ES256 ID tokens; a FAPI client trying a plain bearer flow is refused at every step."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from core.crypto import sha256_hex
from tests.conftest import REDIRECT_URI, authorize_params, pkce_pair, query_of
from tests.dpop import Holder
from tests.flows import meanwhile

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{settings.ISSUER_URL}/o/token/"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def keys():
    return {
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "rsa": rsa.generate_private_key(65537, 2048),
    }


@pytest.fixture
def fapi_client(make_client, keys):
    public = [
        ECAlgorithm.to_jwk(keys["ec"].public_key(), as_dict=True) | {"kid": "ec"},
        RSAAlgorithm.to_jwk(keys["rsa"].public_key(), as_dict=True) | {"kid": "rsa"},
    ]
    client, _ = make_client(
        client_id="bank",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        token_endpoint_auth_method="private_key_jwt",
        id_token_signed_response_alg="ES256",
        jwks={"keys": public},
        skip_consent=True,
        profile="fapi2",
    )
    return client


def assertion(keys, kind: str = "ec") -> dict[str, str]:
    claims = {
        "iss": "bank",
        "sub": "bank",
        "aud": settings.ISSUER_URL,
        "jti": f"{kind}-{time.monotonic_ns()}",
        "exp": int(time.time()) + 60,
    }
    algorithm = "ES256" if kind == "ec" else "RS256"
    token = jwt.encode(claims, keys[kind], algorithm=algorithm, headers={"kid": kind})
    return {"client_id": "bank", "client_assertion_type": ASSERTION_TYPE, "client_assertion": token}


def test_the_profile_needs_private_key_jwt_or_mtls_and_es256_id_tokens(make_client):
    with pytest.raises(ValidationError) as refused:
        make_client(
            client_id="weak",
            grant_types=["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"],
            redirect_uris=[REDIRECT_URI],
            profile="fapi2",
        )
    errors = refused.value.message_dict
    assert errors["token_endpoint_auth_method"] == [
        "the fapi2 profile needs private_key_jwt, tls_client_auth or self_signed_tls_client_auth"
    ]
    assert errors["id_token_signed_response_alg"] == ["the fapi2 profile needs ES256"]
    assert errors["grant_types"] == ["the fapi2 profile needs no device flow"]


def test_a_fapi_client_goes_through_par_dpop_and_es256(signed_in, fapi_client, keys):
    verifier, challenge = pkce_pair()
    plain = signed_in.get("/o/authorize/", authorize_params("bank", challenge, scope="openid"))
    assert plain.status_code == 400  # not pushed

    params = {**authorize_params("bank", challenge, scope="openid"), **assertion(keys, "rsa")}
    assert signed_in.post("/o/par/", params).json()["error"] == "invalid_client"  # RS256
    params.update(assertion(keys))
    pushed = signed_in.post("/o/par/", params)
    assert pushed.status_code == 201, pushed.content
    answer = signed_in.get(
        "/o/authorize/", {"client_id": "bank", "request_uri": pushed.json()["request_uri"]}
    )
    code = query_of(answer["Location"])["code"]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    bearer = signed_in.post("/o/token/", {**exchange, **assertion(keys)})
    assert bearer.status_code == 400 and bearer.json()["error"] == "invalid_dpop_proof"

    rsa_proof = jwt.encode(
        {"jti": "r1", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())},
        keys["rsa"],
        algorithm="RS256",
        headers={
            "typ": "dpop+jwt",
            "jwk": RSAAlgorithm.to_jwk(keys["rsa"].public_key(), as_dict=True),
        },
    )
    refused = signed_in.post("/o/token/", {**exchange, **assertion(keys)}, HTTP_DPOP=rsa_proof)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"

    holder = Holder()  # an EC key: ES256 proofs
    tokens = signed_in.post(
        "/o/token/", {**exchange, **assertion(keys)}, HTTP_DPOP=holder.proof("POST", TOKEN_URL)
    )
    assert tokens.status_code == 200, tokens.content
    body = tokens.json()
    assert body["token_type"] == "DPoP"
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"


def test_the_check_warns_when_codes_live_longer_than_fapi_allows(fapi_client, settings, capsys):
    settings.AUTHORIZATION_CODE_LIFETIME = 120
    call_command("check", "--deploy", "--tag", "security")
    assert "authserver.W013" in capsys.readouterr().err


def _refreshable(signed_in, keys, fapi_client) -> tuple[dict, Holder]:
    """A FAPI client's first tokens with a refresh token (pushed request, DPoP), and the
    DPoP key they are bound to."""
    fapi_client.grant_types = ["authorization_code", "refresh_token"]
    fapi_client.allowed_scopes = ["openid", "offline_access"]
    fapi_client.save()
    verifier, challenge = pkce_pair()
    params = authorize_params("bank", challenge, scope="openid offline_access")
    pushed = signed_in.post("/o/par/", {**params, **assertion(keys)})
    assert pushed.status_code == 201, pushed.content
    answer = signed_in.get(
        "/o/authorize/", {"client_id": "bank", "request_uri": pushed.json()["request_uri"]}
    )
    holder = Holder()
    exchange = {
        "grant_type": "authorization_code",
        "code": query_of(answer["Location"])["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    first = signed_in.post(
        "/o/token/", {**exchange, **assertion(keys)}, HTTP_DPOP=holder.proof("POST", TOKEN_URL)
    ).json()
    return first, holder


def _refresh(signed_in, keys, holder: Holder, refresh_token: str):
    return signed_in.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token, **assertion(keys)},
        HTTP_DPOP=holder.proof("POST", TOKEN_URL),
    )


def test_a_fapi_clients_refresh_token_does_not_rotate(signed_in, keys, fapi_client):
    """FAPI 2.0 §5.3.2.1: no refresh token rotation, so a lost answer costs the client nothing;
    each refresh replaces the access token."""
    first, holder = _refreshable(signed_in, keys, fapi_client)
    refresh_token, access_tokens = first["refresh_token"], [first["access_token"]]
    for _ in range(2):
        renewed = _refresh(signed_in, keys, holder, refresh_token)
        assert renewed.status_code == 200, renewed.content
        assert renewed.json()["refresh_token"] == refresh_token
        access_tokens.append(renewed.json()["access_token"])
    live = get_access_token_model().objects.filter(application=fapi_client)
    assert live.count() == 1  # the replaced access tokens are gone
    assert get_refresh_token_model().objects.get(application=fapi_client).revoked is None
    assert len(set(access_tokens)) == 3


def test_two_refreshes_at_once_with_a_token_that_does_not_rotate_leave_one_access_token(
    signed_in, keys, fapi_client, monkeypatch
):
    """The refresh that finds the token's access token replaced by another refresh meanwhile
    gets ``invalid_grant``; the token stays usable and points at the one live access token (no
    second one that no revocation would reach)."""
    first, holder = _refreshable(signed_in, keys, fapi_client)
    token = first["refresh_token"]
    won = meanwhile(monkeypatch, lambda: _refresh(signed_in, keys, holder, token))
    lost = _refresh(signed_in, keys, holder, token)
    assert lost.status_code == 400 and lost.json()["error"] == "invalid_grant"
    assert won[0].status_code == 200, won[0].content
    live = get_access_token_model().objects.filter(application=fapi_client)
    assert [a.token_checksum for a in live] == [sha256_hex(won[0].json()["access_token"])]
    row = get_refresh_token_model().objects.get(application=fapi_client)
    assert row.revoked is None and row.access_token_id == live.get().pk
    assert _refresh(signed_in, keys, holder, token).status_code == 200
