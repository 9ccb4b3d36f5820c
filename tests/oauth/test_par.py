"""Pushed authorization requests (RFC 9126): the push endpoint, the authorization endpoint's
``request_uri``, single use, and clients (or the server) requiring it."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from oauth import par
from tests.conftest import REDIRECT_URI, authorize_params, basic_auth, pkce_pair, query_of

pytestmark = pytest.mark.django_db


def push(http, client_id: str, secret: str | None, params: dict[str, str]):
    """POST ``params`` to /o/par/ as ``client_id`` (HTTP Basic when it has a secret)."""
    headers = {"HTTP_AUTHORIZATION": basic_auth(client_id, secret)} if secret else {}
    return http.post("/o/par/", params, **headers)


def pushed_uri(http, web_client, **extra: str) -> tuple[str, str]:
    client, secret = web_client
    verifier, challenge = pkce_pair()
    response = push(
        http, client.client_id, secret, authorize_params(client.client_id, challenge, **extra)
    )
    assert response.status_code == 201, response.content
    return response.json()["request_uri"], verifier


def test_a_pushed_request_is_answered_with_a_single_use_request_uri(signed_in, web_client):
    client, secret = web_client
    verifier, challenge = pkce_pair()
    response = push(
        signed_in, client.client_id, secret, authorize_params(client.client_id, challenge)
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["expires_in"] == 60
    assert re.fullmatch(r"urn:ietf:params:oauth:request_uri:[\w-]{43}", body["request_uri"])

    query = {"client_id": client.client_id, "request_uri": body["request_uri"]}
    answer = signed_in.get("/o/authorize/", query)
    assert answer.status_code == 302 and answer["Location"].startswith(REDIRECT_URI)
    params = query_of(answer["Location"])
    assert params["state"] == "st-123" and params["iss"] == settings.ISSUER_URL
    tokens = signed_in.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert tokens.status_code == 200 and "id_token" in tokens.json()

    again = signed_in.get("/o/authorize/", query)
    assert again.status_code == 400
    assert "invalid_request_uri" in again.content.decode()


def test_the_pushed_parameters_win_over_what_the_browser_adds(signed_in, web_client, make_client):
    client, _ = web_client
    request_uri, _ = pushed_uri(signed_in, web_client)
    answer = signed_in.get(
        "/o/authorize/",
        {
            "client_id": client.client_id,
            "request_uri": request_uri,
            "redirect_uri": "https://evil.example/cb",
            "state": "forged",
        },
    )
    assert answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"])["state"] == "st-123"


def test_a_request_uri_is_refused_to_another_client_after_expiry_and_when_made_up(
    signed_in, web_client, make_client, clock
):
    other, _ = make_client(
        client_id="other",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        skip_consent=True,
    )
    request_uri, _ = pushed_uri(signed_in, web_client)
    for query in (
        {"client_id": other.client_id, "request_uri": request_uri},
        {"client_id": web_client[0].client_id, "request_uri": par.URN_PREFIX + "made-up"},
    ):
        answer = signed_in.get("/o/authorize/", query)
        assert answer.status_code == 400 and "invalid_request_uri" in answer.content.decode()

    clock.advance(61)
    answer = signed_in.get(
        "/o/authorize/", {"client_id": web_client[0].client_id, "request_uri": request_uri}
    )
    assert answer.status_code == 400 and "invalid_request_uri" in answer.content.decode()


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, 400, "invalid_request"),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "invalid_request"),
        ({"response_type": "token"}, 400, "unauthorized_client"),
        ({"request_uri": par.URN_PREFIX + "x"}, 400, "invalid_request"),
        ({"client_id": "someone-else"}, 400, "invalid_request"),
    ],
)
def test_a_push_is_validated_as_the_authorization_endpoint_would(
    client, web_client, change, status, error
):
    web, secret = web_client
    _, challenge = pkce_pair()
    params = {**authorize_params(web.client_id, challenge), **change}
    response = push(client, web.client_id, secret, {k: v for k, v in params.items() if v})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == error


def test_a_push_needs_client_authentication(client, web_client):
    web, _ = web_client
    _, challenge = pkce_pair()
    params = authorize_params(web.client_id, challenge)
    for response in (
        push(client, web.client_id, "wrong-secret", params),
        push(client, web.client_id, None, params),  # a confidential client without a secret
    ):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


def test_a_public_client_pushes_with_its_client_id(client, make_client):
    public, _ = make_client(
        client_id="spa",
        type="public",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
    )
    _, challenge = pkce_pair()
    params = authorize_params(public.client_id, challenge, scope="openid")
    response = push(client, public.client_id, None, params)
    assert response.status_code == 201, response.content


def test_the_consent_form_posts_the_pushed_request_whatever_the_browser_changes(
    signed_in, make_client
):
    consenting = make_client(
        client_id="asks",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "email", "offline_access"],
    )
    request_uri, _ = pushed_uri(signed_in, consenting)
    page = signed_in.get("/o/authorize/", {"client_id": "asks", "request_uri": request_uri})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="request_uri" value="{request_uri}"' in html
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    answer = signed_in.post(
        "/o/authorize/",
        {
            "csrfmiddlewaretoken": csrf,
            "client_id": "asks",
            "request_uri": request_uri,
            "redirect_uri": "https://evil.example/cb",
            "state": "forged",
            "scope": "openid",
            "response_type": "code",
            "allow": "Authorize",
        },
    )
    assert answer.status_code == 302 and answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"])["state"] == "st-123"
    replay = signed_in.get("/o/authorize/", {"client_id": "asks", "request_uri": request_uri})
    assert replay.status_code == 400


def test_signing_in_keeps_the_reference_not_the_parameters(client, make_user, web_client):
    make_user("alice")
    request_uri, _ = pushed_uri(client, web_client)
    answer = client.get("/o/authorize/", {"client_id": "webapp", "request_uri": request_uri})
    assert answer.status_code == 302
    next_url = parse_qs(urlsplit(answer["Location"]).query)["next"][0]
    assert parse_qs(urlsplit(next_url).query) == {
        "client_id": ["webapp"],
        "request_uri": [request_uri],
    }


@pytest.mark.parametrize("where", ["client", "server"])
def test_pushing_can_be_required(signed_in, web_client, settings, where):
    client, _ = web_client
    if where == "client":
        client.require_pushed_authorization_requests = True
        client.save()
    else:
        settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = True
    _, challenge = pkce_pair()
    plain = signed_in.get("/o/authorize/", authorize_params(client.client_id, challenge))
    assert plain.status_code == 400
    assert "pushed authorization request endpoint" in plain.content.decode()
    request_uri, _ = pushed_uri(signed_in, web_client)
    pushed = signed_in.get(
        "/o/authorize/", {"client_id": client.client_id, "request_uri": request_uri}
    )
    assert pushed.status_code == 302 and "code" in query_of(pushed["Location"])
    discovery = signed_in.get("/.well-known/oauth-authorization-server").json()
    assert discovery["require_pushed_authorization_requests"] is (where == "server")


def test_discovery_names_the_endpoint_and_request_objects(client):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        document = client.get(path).json()
        assert document["pushed_authorization_request_endpoint"] == f"{settings.ISSUER_URL}/o/par/"
    oidc = client.get("/.well-known/openid-configuration").json()
    assert oidc["request_parameter_supported"] is True
    assert oidc["request_object_signing_alg_values_supported"] == ["RS256", "PS256", "ES256"]


def test_requiring_it_is_part_of_the_client_spec(make_client):
    from oauth.config import export_clients

    make_client(
        client_id="fapi",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        require_pushed_authorization_requests=True,
    )
    (entry,) = [e for e in export_clients() if e["client_id"] == "fapi"]
    assert entry["require_pushed_authorization_requests"] is True


@pytest.fixture
def signing_client(make_client):
    """A client with a registered EC key (private_key_jwt), and that private key."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    private = ec.generate_private_key(ec.SECP256R1())
    public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": "rk1"}
    client, _ = make_client(
        client_id="signer",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "email", "offline_access"],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public]},
        skip_consent=True,
    )
    return client, private


def request_object(private, **claims) -> str:
    import time

    import jwt

    _, challenge = pkce_pair()
    body = {
        "iss": "signer",
        "aud": settings.ISSUER_URL,
        "exp": int(time.time()) + 300,
        **authorize_params("signer", challenge, state="from-the-object"),
        "resource": [],
        **claims,
    }
    if not body["resource"]:
        del body["resource"]
    return jwt.encode(body, private, algorithm="ES256", headers={"kid": "rk1"})


def test_a_signed_request_object_stands_for_the_request_at_the_authorization_endpoint(
    signed_in, signing_client
):
    _, private = signing_client
    answer = signed_in.get(
        "/o/authorize/",
        {"client_id": "signer", "request": request_object(private), "state": "outer"},
    )
    assert answer.status_code == 302, answer.content
    assert query_of(answer["Location"])["state"] == "from-the-object"


def test_a_signed_request_object_can_be_pushed(signed_in, signing_client):
    import time

    import jwt

    _, private = signing_client
    assertion = jwt.encode(
        {
            "iss": "signer",
            "sub": "signer",
            "aud": settings.ISSUER_URL,
            "jti": "a-1",
            "exp": int(time.time()) + 60,
        },
        private,
        algorithm="ES256",
        headers={"kid": "rk1"},
    )
    response = signed_in.post(
        "/o/par/",
        {
            "client_id": "signer",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "request": request_object(private),
        },
    )
    assert response.status_code == 201, response.content
    answer = signed_in.get(
        "/o/authorize/", {"client_id": "signer", "request_uri": response.json()["request_uri"]}
    )
    assert query_of(answer["Location"])["state"] == "from-the-object"


@pytest.mark.parametrize(
    "spoil",
    ["unsigned", "other key", "audience", "client_id", "expired", "too long"],
)
def test_a_request_object_that_does_not_verify_is_refused(signed_in, signing_client, spoil):
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    _, private = signing_client
    now = int(time.time())
    if spoil == "unsigned":
        _, challenge = pkce_pair()
        body = {"iss": "signer", "aud": settings.ISSUER_URL, "exp": now + 300}
        body |= authorize_params("signer", challenge)
        jar = jwt.encode(body, None, algorithm="none")
    elif spoil == "other key":
        jar = request_object(ec.generate_private_key(ec.SECP256R1()))
    else:
        claims = {
            "audience": {"aud": "https://elsewhere.example/"},
            "client_id": {"client_id": "webapp"},
            "expired": {"exp": now - 120},
            "too long": {"exp": now + 7200},
        }[spoil]
        jar = request_object(private, **claims)
    answer = signed_in.get("/o/authorize/", {"client_id": "signer", "request": jar})
    assert answer.status_code == 400
    assert "invalid_request_object" in answer.content.decode()
