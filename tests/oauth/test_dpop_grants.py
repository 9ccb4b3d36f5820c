"""DPoP-bound grants (RFC 9449): a code bound to a key by ``dpop_jkt`` or by a proof at the
pushed authorization request (§10), and a public client's refresh tokens bound to the key of
its first proof (§5). A thief holding the code or the refresh token, without the key, gets
``invalid_grant``; the holder goes on."""

import jwt
import pytest
from django.conf import settings

from oauth.models import AuthContext
from tests.conftest import REDIRECT_URI, authorize_params, basic_auth, pkce_pair, query_of
from tests.dpop import Holder

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{settings.ISSUER_URL}/o/token/"
PAR_URL = f"{settings.ISSUER_URL}/o/par/"


@pytest.fixture
def spa(make_client):
    """A public single-page app: code + PKCE + refresh, consent skipped."""
    client, _ = make_client(
        client_id="spa",
        type="public",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "offline_access"],
        skip_consent=True,
    )
    return client


def redeem(http, code, verifier, proof=None, client_id="spa", secret=None):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    headers = {"HTTP_DPOP": proof} if proof else {}
    if secret:
        headers["HTTP_AUTHORIZATION"] = basic_auth(client_id, secret)
    else:
        data["client_id"] = client_id
    return http.post("/o/token/", data, **headers)


def refresh(http, token, proof=None):
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": "spa"}
    return http.post("/o/token/", data, **({"HTTP_DPOP": proof} if proof else {}))


def spa_code(http, **extra):
    verifier, challenge = pkce_pair()
    params = authorize_params("spa", challenge, scope="openid offline_access", **extra)
    response = http.get("/o/authorize/", params)
    assert response.status_code == 302, response.content
    return query_of(response["Location"]), verifier


def cnf_of(access_token):
    return jwt.decode(access_token, options={"verify_signature": False}).get("cnf")


def test_a_public_clients_refresh_token_needs_a_proof_of_the_first_key(signed_in, spa):
    holder, thief = Holder(), Holder()
    answer, verifier = spa_code(signed_in)
    first = redeem(signed_in, answer["code"], verifier, holder.proof("POST", TOKEN_URL))
    assert first.status_code == 200, first.content
    stolen = first.json()["refresh_token"]
    assert AuthContext.objects.get().cnf == {"jkt": holder.jkt}

    refusals = [
        refresh(signed_in, stolen),
        refresh(signed_in, stolen, thief.proof("POST", TOKEN_URL)),
    ]
    for refused in refusals:
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
        assert "DPoP key" in refused.json()["error_description"]

    renewed = refresh(signed_in, stolen, holder.proof("POST", TOKEN_URL))
    assert renewed.status_code == 200, renewed.content
    body = renewed.json()
    assert body["token_type"] == "DPoP" and cnf_of(body["access_token"]) == {"jkt": holder.jkt}
    again = refresh(signed_in, body["refresh_token"], holder.proof("POST", TOKEN_URL))
    assert again.status_code == 200  # the rotated token stays bound to the same key


def test_a_public_client_without_a_proof_gets_unbound_refresh_tokens(signed_in, spa):
    answer, verifier = spa_code(signed_in)
    body = redeem(signed_in, answer["code"], verifier).json()
    assert AuthContext.objects.get().cnf == {}
    assert refresh(signed_in, body["refresh_token"]).status_code == 200


def test_a_confidential_clients_refresh_token_is_bound_to_its_authentication_not_a_key(
    signed_in, web_client
):
    client, secret = web_client
    verifier, challenge = pkce_pair()
    params = authorize_params(client.client_id, challenge, scope="openid offline_access")
    code = query_of(signed_in.get("/o/authorize/", params)["Location"])["code"]
    first = redeem(signed_in, code, verifier, Holder().proof("POST", TOKEN_URL), "webapp", secret)
    assert first.status_code == 200, first.content
    other = Holder()  # RFC 9449 §5: a confidential client may change its key at a refresh
    renewed = signed_in.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth("webapp", secret),
        HTTP_DPOP=other.proof("POST", TOKEN_URL),
    )
    assert renewed.status_code == 200, renewed.content
    assert cnf_of(renewed.json()["access_token"]) == {"jkt": other.jkt}


def test_dpop_jkt_binds_the_code_to_the_key(signed_in, spa):
    holder, thief = Holder(), Holder()
    answer, verifier = spa_code(signed_in, dpop_jkt=holder.jkt)
    code = answer["code"]
    for refused in (
        redeem(signed_in, code, verifier),
        redeem(signed_in, code, verifier, thief.proof("POST", TOKEN_URL)),
    ):
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
    redeemed = redeem(signed_in, code, verifier, holder.proof("POST", TOKEN_URL))
    assert redeemed.status_code == 200, redeemed.content
    assert cnf_of(redeemed.json()["access_token"]) == {"jkt": holder.jkt}


def test_a_malformed_dpop_jkt_is_an_invalid_request_redirected_to_the_client(signed_in, spa):
    _, challenge = pkce_pair()
    params = authorize_params("spa", challenge, scope="openid", dpop_jkt="not-a-thumbprint")
    response = signed_in.get("/o/authorize/", params)
    assert response.status_code == 302
    answer = query_of(response["Location"])
    assert answer["error"] == "invalid_request" and "dpop_jkt" in answer["error_description"]


def test_dpop_jkt_survives_the_consent_form(signed_in, spa):
    spa.skip_authorization = False
    spa.save()
    holder = Holder()
    verifier, challenge = pkce_pair()
    params = authorize_params("spa", challenge, scope="openid", dpop_jkt=holder.jkt)
    page = signed_in.get("/o/authorize/", params)
    assert page.status_code == 200
    form = page.context["form"]
    assert form["dpop_jkt"].value() == holder.jkt
    posted = {name: value for name, value in form.initial.items() if value is not None}
    approved = signed_in.post("/o/authorize/", {**posted, "allow": "Authorize"})
    assert approved.status_code == 302, approved.content
    code = query_of(approved["Location"])["code"]
    assert redeem(signed_in, code, verifier).json()["error"] == "invalid_grant"
    assert redeem(signed_in, code, verifier, holder.proof("POST", TOKEN_URL)).status_code == 200


def push(http, proof=None, **extra):
    verifier, challenge = pkce_pair()
    params = authorize_params("spa", challenge, scope="openid", **extra)
    response = http.post("/o/par/", params, **({"HTTP_DPOP": proof} if proof else {}))
    return response, verifier


def authorize_pushed(http, pushed):
    uri = pushed.json()["request_uri"]
    response = http.get("/o/authorize/", {"client_id": "spa", "request_uri": uri})
    return query_of(response["Location"])["code"]


def test_a_proof_at_the_push_binds_the_code(signed_in, spa):
    holder = Holder()
    pushed, verifier = push(signed_in, holder.proof("POST", PAR_URL))
    assert pushed.status_code == 201, pushed.content
    code = authorize_pushed(signed_in, pushed)
    assert redeem(signed_in, code, verifier, Holder().proof("POST", TOKEN_URL)).status_code == 400
    assert redeem(signed_in, code, verifier, holder.proof("POST", TOKEN_URL)).status_code == 200


def test_a_push_whose_dpop_jkt_is_not_the_proofs_key_is_refused(signed_in, spa):
    holder = Holder()
    matching, _ = push(signed_in, holder.proof("POST", PAR_URL), dpop_jkt=holder.jkt)
    assert matching.status_code == 201, matching.content
    refused, _ = push(signed_in, holder.proof("POST", PAR_URL), dpop_jkt=Holder().jkt)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    bad_proof, _ = push(signed_in, holder.proof("POST", TOKEN_URL))  # htu: another endpoint
    assert bad_proof.status_code == 400 and bad_proof.json()["error"] == "invalid_dpop_proof"
