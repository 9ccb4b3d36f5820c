"""DPoP (RFC 9449): proofs at the token endpoint, DPoP-bound access tokens (``cnf.jkt``,
``token_type: DPoP``), introspection's ``cnf``, and userinfo refusing a bound token without a
proof of its key. The negative cases are a thief's: a stolen token alone, with a proof of
another key, or with a replayed proof."""

import time

import jwt
import pytest
from django.conf import settings

from tests.conftest import basic_auth, code_grant, introspect
from tests.dpop import Holder

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{settings.ISSUER_URL}/o/token/"
USERINFO_URL = f"{settings.ISSUER_URL}/o/userinfo/"


def client_token(http, client, secret, proof=None, **extra):
    headers = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return http.post("/o/token/", {"grant_type": "client_credentials", **extra}, **headers)


@pytest.fixture
def service(make_client):
    return make_client(client_id="svc")


def test_a_proof_binds_the_access_token_to_the_key(client, service, resource_server):
    holder = Holder()
    response = client_token(client, *service, holder.proof("POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": holder.jkt}
    answer = introspect(client, resource_server, body["access_token"])
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP" and answer["cnf"] == {"jkt": holder.jkt}


def test_without_a_proof_the_token_is_a_bearer_token(client, service):
    body = client_token(client, *service).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in jwt.decode(body["access_token"], options={"verify_signature": False})


@pytest.mark.parametrize(
    "spoil",
    ["replayed", "stale", "future", "other method", "other url", "private key", "typ", "unsigned"],
)
def test_a_bad_proof_at_the_token_endpoint_is_invalid_dpop_proof(client, service, spoil):
    holder = Holder()
    proof = {
        "replayed": lambda: holder.proof("POST", TOKEN_URL, jti="once"),
        "stale": lambda: holder.proof("POST", TOKEN_URL, iat=int(time.time()) - 120),
        "future": lambda: holder.proof("POST", TOKEN_URL, iat=int(time.time()) + 60),
        "other method": lambda: holder.proof("GET", TOKEN_URL),
        "other url": lambda: holder.proof("POST", "https://elsewhere.example/o/token/"),
        "private key": lambda: holder.proof("POST", TOKEN_URL, jwk={**holder.jwk, "d": "AAAA"}),
        "typ": lambda: holder.proof("POST", TOKEN_URL, header={"typ": "JWT"}),
        "unsigned": lambda: jwt.encode(
            {"jti": "x", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())},
            None,
            algorithm="none",
            headers={"typ": "dpop+jwt", "jwk": holder.jwk},
        ),
    }[spoil]()
    if spoil == "replayed":
        assert client_token(client, *service, proof).status_code == 200
    response = client_token(client, *service, proof)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"


def test_a_client_registered_for_dpop_gets_no_bearer_token(client, make_client):
    bound = make_client(client_id="bound", dpop_bound_access_tokens=True)
    response = client_token(client, *bound)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"
    assert client_token(client, *bound, Holder().proof("POST", TOKEN_URL)).status_code == 200


@pytest.fixture
def bound_user_token(signed_in, web_client):
    """A user's access token from the code flow, bound to ``holder``'s key."""
    holder = Holder()
    body = code_grant(
        signed_in, *web_client, scope="openid profile", HTTP_DPOP=holder.proof("POST", TOKEN_URL)
    )
    assert body["token_type"] == "DPoP"
    return holder, body["access_token"]


def userinfo(http, token, proof=None, scheme="DPoP"):
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return http.get("/o/userinfo/", **headers)


def test_userinfo_takes_a_bound_token_with_a_proof_of_its_key(client, bound_user_token):
    holder, token = bound_user_token
    response = userinfo(client, token, holder.proof("GET", USERINFO_URL, token=token))
    assert response.status_code == 200, response.content
    assert response.json()["preferred_username"] == "alice"


def test_a_stolen_bound_token_is_refused_at_userinfo(client, bound_user_token):
    holder, token = bound_user_token
    thief = Holder()
    used = holder.proof("GET", USERINFO_URL, token=token)
    assert userinfo(client, token, used).status_code == 200
    refusals = {
        "as a bearer token": userinfo(client, token, scheme="Bearer"),
        "in the form body": client.post("/o/userinfo/", {"access_token": token}),
        "without a proof": userinfo(client, token),
        "with the thief's key": userinfo(
            client, token, thief.proof("GET", USERINFO_URL, token=token)
        ),
        "with a replayed proof": userinfo(client, token, used),
        "with a proof for another token": userinfo(
            client, token, holder.proof("GET", USERINFO_URL, token="other")
        ),
    }
    for how, response in refusals.items():
        assert response.status_code == 401, how
        assert response["WWW-Authenticate"].startswith("DPoP"), how
        assert response.json()["error"] == "invalid_token", how


def test_the_dpop_scheme_needs_a_bound_token(client, code_flow):
    token = code_flow.tokens()["access_token"]
    response = userinfo(client, token, Holder().proof("GET", USERINFO_URL, token=token))
    assert response.status_code == 401


def test_discovery_lists_the_proof_algorithms(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256"]


def test_a_bound_token_needs_its_proof_at_the_management_api_and_authzen(
    client, make_client, builtin_roles
):
    from roles import services as role_services
    from roles.services import AssignmentSpec

    caller, secret = make_client(
        client_id="pdp-caller", scopes=["management"], resources=["management"]
    )
    role_services.client_roles_set(client=caller, assignments=[AssignmentSpec("superadmin")])
    holder = Holder()
    response = client_token(
        client,
        caller,
        secret,
        holder.proof("POST", TOKEN_URL),
        scope="management",
        resource=f"{settings.ISSUER_URL}/api/v1/",
    )
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    users_url = f"{settings.ISSUER_URL}/api/v1/users/"
    as_bearer = client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert as_bearer.status_code == 401
    with_proof = client.get(
        "/api/v1/users/",
        HTTP_AUTHORIZATION=f"DPoP {token}",
        HTTP_DPOP=holder.proof("GET", users_url, token=token),
    )
    assert with_proof.status_code == 200, with_proof.content
    decision = client.post(
        "/access/v1/evaluation",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert decision.status_code == 401


def test_with_server_nonces_a_proof_must_carry_the_current_one(client, service, settings):
    settings.DPOP_NONCE = True
    holder = Holder()
    first = client_token(client, *service, holder.proof("POST", TOKEN_URL))
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    nonce = first["DPoP-Nonce"]
    stale = client_token(client, *service, holder.proof("POST", TOKEN_URL, nonce="old"))
    assert stale.json()["error"] == "use_dpop_nonce"
    again = client_token(client, *service, holder.proof("POST", TOKEN_URL, nonce=nonce))
    assert again.status_code == 200 and again.json()["token_type"] == "DPoP"
    assert again["DPoP-Nonce"] == nonce
