"""Pushed authorization requests and DPoP as a strict, certified client library makes them:
panva's oauth4webapi (npm) pushes with ``private_key_jwt``, the browser follows ``request_uri``,
the library validates the answer (RFC 9207 ``iss``, state), redeems the code with a DPoP proof
and calls userinfo with the DPoP-bound token."""

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from tests import node_peers
from tests.oauth.test_live_clients import issuer, signed_in_browser  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def peers():
    return node_peers.install()


def test_oauth4webapi_pushes_redeems_with_dpop_and_the_request_uri_works_once(
    peers,
    issuer,  # noqa: F811 (the fixture imported above)
    make_client,
    make_user,
):
    make_user("alice")
    private = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    private["kid"] = "k1"
    public = {k: v for k, v in private.items() if k != "d"}
    make_client(
        client_id="fapi-like",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
        scopes=["openid"],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public]},
        skip_consent=True,
        require_pushed_authorization_requests=True,
    )
    common = {"issuer": issuer, "client_id": "fapi-like", "private_jwk": private}
    pushed = node_peers.run("par_client.mjs", {**common, "step": "push", "redirect_uri": REDIRECT})
    assert pushed["expires_in"] == 60

    browser = signed_in_browser(issuer)
    answer = browser.get(pushed["authorize"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT)
    redeemed = node_peers.run(
        "par_client.mjs",
        {
            **common,
            "step": "redeem",
            "redirect_uri": REDIRECT,
            "callback": answer.headers["Location"],
            "state": pushed["state"],
            "nonce": pushed["nonce"],
            "verifier": pushed["verifier"],
        },
    )
    assert redeemed["token_type"].lower() == "dpop"  # oauth4webapi sent a DPoP proof
    assert redeemed["claims"]["aud"] == "fapi-like" and redeemed["claims"]["iss"] == issuer
    assert redeemed["userinfo"]["sub"] == redeemed["claims"]["sub"]  # DPoP at userinfo
    # the token is useless without the key: as a bearer token userinfo refuses it
    stolen = requests.get(
        f"{issuer}/o/userinfo/",
        headers={"Authorization": f"Bearer {redeemed['access_token']}"},
        timeout=10,
    )
    assert stolen.status_code == 401 and stolen.headers["WWW-Authenticate"].startswith("DPoP")

    again = browser.get(pushed["authorize"], allow_redirects=False, timeout=10)
    assert again.status_code == 400 and "invalid_request_uri" in again.text
    plain = browser.get(
        f"{issuer}/o/authorize/",
        params={"client_id": "fapi-like", "response_type": "code", "redirect_uri": REDIRECT},
        allow_redirects=False,
        timeout=10,
    )
    assert plain.status_code == 400 and "pushed authorization request endpoint" in plain.text


def test_oauth4webapi_as_a_public_client_binds_its_code_and_refresh_tokens_to_its_dpop_key(
    peers,
    issuer,  # noqa: F811 (the fixture imported above)
    make_client,
    make_user,
):
    make_user("alice")
    make_client(
        client_id="spa",
        type="public",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT],
        scopes=["openid", "offline_access"],
        skip_consent=True,
    )
    key, thief = (
        ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True) for _ in range(2)
    )
    common = {"issuer": issuer, "client_id": "spa", "redirect_uri": REDIRECT}
    pushed = node_peers.run("public_dpop_client.mjs", {**common, "dpop_jwk": key, "step": "push"})
    browser = signed_in_browser(issuer)
    answer = browser.get(pushed["authorize"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT)
    redeem = {
        **common,
        "step": "redeem",
        "callback": answer.headers["Location"],
        "state": pushed["state"],
        "verifier": pushed["verifier"],
    }
    # the code is bound to the key of the push's proof: the thief's key cannot redeem it
    assert node_peers.run("public_dpop_client.mjs", {**redeem, "dpop_jwk": thief}) == {
        "error": "invalid_grant",
        "error_description": "This grant is bound to a DPoP key: send a proof of that key.",
    }
    tokens = node_peers.run("public_dpop_client.mjs", {**redeem, "dpop_jwk": key})
    assert tokens["token_type"].lower() == "dpop", tokens

    refresh = {**common, "step": "refresh", "refresh_token": tokens["refresh_token"]}
    stolen = node_peers.run("public_dpop_client.mjs", {**refresh, "dpop_jwk": thief})
    assert stolen["error"] == "invalid_grant"
    renewed = node_peers.run("public_dpop_client.mjs", {**refresh, "dpop_jwk": key})
    assert renewed["token_type"].lower() == "dpop", renewed
    assert renewed["refresh_token"] != tokens["refresh_token"]  # rotated, still bound
