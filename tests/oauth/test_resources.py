"""RFC 8707 resources are registered APIs the client lists: anything else is ``invalid_target``
at /o/authorize/ and at /o/token/ for every grant, and an API's lifetime caps its tokens."""

from __future__ import annotations

import jwt
import pytest

from apikeys import services as key_services
from core.actors import SystemActor
from tests.apikeys.conftest import exchange_request
from tests.apis import allow_resources, register_api
from tests.conftest import REDIRECT_URI, authorize_params, basic_auth, pkce_pair, query_of

ORDERS = "https://orders.example.test/"
BILLING = "https://billing.example.test/"
UNREGISTERED = "https://nobody.example.test/"


@pytest.fixture
def apis(db):
    """Orders and Billing registered; Orders caps its tokens at 120 s."""
    register_api(ORDERS, lifetime=120)
    register_api(BILLING)


@pytest.fixture
def service(make_client, apis):
    """A client-credentials client listing Orders only: (client, secret)."""
    svc, secret = make_client(client_id="svc", name="Service")
    allow_resources(svc, ORDERS)
    return svc, secret


def client_credentials(http, secret: str, **params: str):
    return http.post(
        "/o/token/",
        {"grant_type": "client_credentials", **params},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )


def claims_of(response) -> dict:
    assert response.status_code == 200, response.content
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})


def assert_invalid_target(response, resource: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_target" and resource in body["error_description"]
    assert "access_token" not in body


@pytest.mark.parametrize("resource", [UNREGISTERED, BILLING])
def test_token_endpoint_refuses_a_resource_not_registered_or_not_listed(client, service, resource):
    _svc, secret = service
    assert_invalid_target(client_credentials(client, secret, resource=resource), resource)
    # one bad resource among good ones refuses the request
    both = client.post(
        "/o/token/",
        f"grant_type=client_credentials&resource={ORDERS}&resource={resource}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    assert_invalid_target(both, resource)


def test_a_listed_api_is_the_audience_and_no_resource_is_the_issuer(client, service, settings):
    _svc, secret = service
    assert claims_of(client_credentials(client, secret, resource=ORDERS))["aud"] == [ORDERS]
    assert claims_of(client_credentials(client, secret))["aud"] == settings.ISSUER_URL


def test_an_apis_lifetime_caps_its_tokens(client, service, settings):
    """The client's lifetime (else the default), capped by each requested API's lifetime."""
    svc, secret = service
    capped = client_credentials(client, secret, resource=ORDERS)
    assert capped.json()["expires_in"] == 120
    claims = claims_of(capped)
    assert claims["exp"] - claims["iat"] == 120
    uncapped = client_credentials(client, secret)
    assert uncapped.json()["expires_in"] == settings.ACCESS_TOKEN_LIFETIME
    svc.access_token_lifetime = 60  # shorter than the API's: the client's wins
    svc.save()
    assert client_credentials(client, secret, resource=ORDERS).json()["expires_in"] == 60


def test_a_user_tokens_stored_expiry_follows_the_cap(code_flow, apis):
    """The stored row (what introspection and revocation read) expires with the token."""
    from oauth2_provider.models import AccessToken

    allow_resources(code_flow.client_obj, ORDERS)
    code, verifier = code_flow.code(resource=ORDERS)
    issued = code_flow.exchange(code, verifier).json()
    assert issued["expires_in"] == 120
    row = AccessToken.objects.get()
    claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
    # the row and the JWT take "now" a moment apart (seconds on a loaded machine); the uncapped
    # lifetime (ACCESS_TOKEN_LIFETIME) is minutes away from either
    assert abs(row.expires.timestamp() - claims["exp"]) < 30


@pytest.mark.parametrize("resource", [UNREGISTERED, BILLING])
def test_authorization_endpoint_redirects_invalid_target(code_flow, apis, resource):
    allow_resources(code_flow.client_obj, ORDERS)
    _verifier, challenge = pkce_pair()
    response = code_flow.authorize(challenge, resource=resource)
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(REDIRECT_URI)
    answer = query_of(response["Location"])
    assert answer["error"] == "invalid_target" and answer["state"] == "st-123"
    assert "code" not in answer
    assert code_flow.code(resource=ORDERS)  # the listed API is fine


def test_authorization_endpoint_checks_every_repeated_resource(code_flow, apis):
    allow_resources(code_flow.client_obj, ORDERS)
    verifier, challenge = pkce_pair()
    params = authorize_params(code_flow.client_obj.client_id, challenge)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = code_flow.browser.get(f"/o/authorize/?{query}&resource={BILLING}&resource={ORDERS}")
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_target"


def test_the_consent_form_cannot_smuggle_a_resource(signed_in, make_client, apis):
    """The approval form's hidden ``resource`` is checked again when it is posted."""
    app, _secret = make_client(
        client_id="thirdparty",
        name="Third party",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
    )
    allow_resources(app, ORDERS)
    verifier, challenge = pkce_pair()
    params = authorize_params("thirdparty", challenge, scope="openid", resource=ORDERS)
    page = signed_in.get("/o/authorize/", params)
    assert page.status_code == 200  # the consent page
    form = {**params, "resource": BILLING, "allow": "Authorize"}
    response = signed_in.post(f"/o/authorize/?{page.request['QUERY_STRING']}", form)
    assert response.status_code == 302, response.content
    assert query_of(response["Location"])["error"] == "invalid_target"


def test_a_refresh_for_an_api_the_client_no_longer_lists_is_invalid_target(code_flow, apis):
    allow_resources(code_flow.client_obj, ORDERS)
    code, verifier = code_flow.code(resource=ORDERS)
    issued = code_flow.exchange(code, verifier).json()
    app = code_flow.client_obj
    app.resources = []
    app.save()
    refreshed = code_flow.browser.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, code_flow.secret),
    )
    assert_invalid_target(refreshed, ORDERS)


def test_a_code_for_an_api_the_client_no_longer_lists_gives_no_token(code_flow, apis):
    allow_resources(code_flow.client_obj, ORDERS)
    code, verifier = code_flow.code(resource=ORDERS)
    app = code_flow.client_obj
    app.resources = []
    app.save()
    assert_invalid_target(code_flow.exchange(code, verifier), ORDERS)


def test_token_exchange_checks_the_resource_and_carries_it(client, service, settings):
    svc, _secret = service
    _key, full = key_services.api_key_create(name="ci", actor=SystemActor("test"), client=svc)
    assert_invalid_target(exchange_request(client, full, resource=BILLING), BILLING)
    issued = exchange_request(client, full, resource=ORDERS)
    assert claims_of(issued)["aud"] == [ORDERS] and issued.json()["expires_in"] == 120
    assert claims_of(exchange_request(client, full))["aud"] == settings.ISSUER_URL


def test_a_users_key_has_no_client_so_no_resource(client, make_user, apis):
    user = make_user("kim")
    _key, full = key_services.api_key_create(name="ci", actor=SystemActor("test"), user=user)
    assert_invalid_target(exchange_request(client, full, resource=ORDERS), ORDERS)


def test_device_code_grant_checks_the_resource(client, signed_in, make_client, apis):
    from tests.oauth.test_device_flow import DEVICE_GRANT, start_device

    tv, _ = make_client(
        client_id="tv", type="public", grant_types=[DEVICE_GRANT], scopes=["openid"]
    )
    allow_resources(tv, ORDERS)
    grant = start_device(client, "openid").json()
    entered = signed_in.post("/device", {"user_code": grant["user_code"]})
    signed_in.post(entered["Location"], {"action": "accept"})

    def poll(resource: str):
        return client.post(
            "/o/token/",
            {
                "grant_type": DEVICE_GRANT,
                "device_code": grant["device_code"],
                "client_id": "tv",
                "resource": resource,
            },
        )

    assert_invalid_target(poll(BILLING), BILLING)
    assert claims_of(poll(ORDERS))["aud"] == [ORDERS]


def test_a_strict_jose_resource_server_accepts_only_tokens_issued_for_it(client, service, settings):
    """docs/apis.md's PyJWT verifier (RFC 9068: typ, issuer, expiry, ``aud``) as the Orders API."""
    _svc, secret = service
    keys = jwt.PyJWKSet.from_dict(client.get("/o/jwks/").json())

    def verify(token: str) -> dict:
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "at+jwt"
        return jwt.decode(
            token,
            keys[header["kid"]].key,
            algorithms=["ES256", "RS256"],
            issuer=settings.ISSUER_URL,
            audience=ORDERS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )

    issued = client_credentials(client, secret, resource=ORDERS).json()["access_token"]
    assert verify(issued)["client_id"] == "svc"
    audience_less = client_credentials(client, secret).json()["access_token"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify(audience_less)
