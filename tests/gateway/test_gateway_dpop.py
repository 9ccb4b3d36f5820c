"""A DPoP-bound token at the gateway endpoint: it passes only with a proof of its key for the
original request (method and path), which the gateway forwards in ``DPoP``."""

import pytest
from django.conf import settings

from tests.conftest import basic_auth
from tests.dpop import Holder

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{settings.ISSUER_URL}/o/token/"
GATEWAY_URL = "https://api.example.test/api/orders/42"


def nginx(client, method, uri, authorization, proof=None):
    headers = {"HTTP_AUTHORIZATION": authorization}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return client.get(
        "/gateway/auth", HTTP_X_ORIGINAL_METHOD=method, HTTP_X_ORIGINAL_URI=uri, **headers
    )


@pytest.fixture
def bound(client, tokens):
    holder = Holder()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("reader-svc", tokens["reader_secret"]),
        HTTP_DPOP=holder.proof("POST", TOKEN_URL),
    )
    assert response.json()["token_type"] == "DPoP"
    return holder, response.json()["access_token"]


def test_a_bound_token_passes_with_a_proof_for_the_original_request(client, bound):
    holder, token = bound
    proof = holder.proof("GET", GATEWAY_URL, token=token)
    response = nginx(client, "GET", "/api/orders/42?expand=items", f"DPoP {token}", proof)
    assert response.status_code == 200
    assert response["X-Auth-Subject"] == "reader-svc"


def test_a_bound_token_without_its_proof_is_refused(client, bound):
    holder, token = bound
    thief = Holder()
    for authorization, proof in (
        (f"Bearer {token}", None),
        (f"DPoP {token}", None),
        (f"DPoP {token}", thief.proof("GET", GATEWAY_URL, token=token)),
        (f"DPoP {token}", holder.proof("GET", "https://api.example.test/api/admin", token=token)),
        (f"DPoP {token}", holder.proof("POST", GATEWAY_URL, token=token)),
    ):
        response = nginx(client, "GET", "/api/orders/42", authorization, proof)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("DPoP")
