"""The management API is a built-in registered API: it takes only access tokens issued for its
audience, with the ``management`` scope, to a client listing ``management`` in its resources.
Anything else is 401 ``invalid_token`` naming what to ask for, whoever the user is."""

from __future__ import annotations

import jwt
import pytest

from accounts.models import User
from core.actors import APPLY
from oauth.apis import management_audience
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.api.conftest import (
    ADMIN_PERMISSIONS,
    Api,
    assert_problem,
    management_token,
)
from tests.apis import allow_resources, register_api
from tests.conftest import REDIRECT_URI, basic_auth
from tests.roles.conftest import client_credentials_token, user_tokens

ORDERS = "https://orders.example.test/"


@pytest.fixture
def administrator(make_user):
    """A user whose roles hold every management permission."""
    user = make_user("boss")
    role_services.role_create(actor=APPLY, name="boss-role", permissions=ADMIN_PERMISSIONS)
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("boss-role")])
    return user


@pytest.fixture
def thirdparty(make_client):
    """A third-party web app that may ask only for ``openid``: (client, secret)."""
    return make_client(
        client_id="thirdparty",
        name="Third party",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        skip_consent=True,
    )


@pytest.fixture
def privileged_service(make_client):
    """A client-credentials client holding every management permission: (client, secret)."""
    app, secret = make_client(client_id="svc", name="Service", scopes=["management"])
    role_services.role_create(actor=APPLY, name="svc-role", permissions=ADMIN_PERMISSIONS)
    role_services.client_roles_set(client=app, assignments=[AssignmentSpec("svc-role")])
    return app, secret


def ask_management_token(http, client_id: str, secret: str):
    """The token request of a management-API token (its scope and audience)."""
    return http.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "scope": "management",
            "resource": management_audience(),
        },
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


def assert_refused(api: Api, method: str, path: str, body=None) -> dict:
    """401 ``invalid_token``: the challenge and the problem name the audience to ask for."""
    response = api(method, path, body)
    problem = assert_problem(response, 401, "not-authenticated")
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="authserver", error="invalid_token"'), challenge
    assert 'error_description="' in challenge
    assert f'resource="{management_audience()}"' in challenge and 'scope="management"' in challenge
    return problem


def test_a_third_party_apps_openid_token_is_no_management_access(
    client, administrator, thirdparty, make_client
):
    """The issue's attack: an administrator signs in to a third-party app; its token (aud =
    the issuer, scope openid) may neither read nor create users nor rotate a secret."""
    _worker, worker_secret = make_client(client_id="worker")
    token = user_tokens(client, thirdparty, "boss", scope="openid")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_id"] == "thirdparty" and claims["scope"] == "openid"
    api = Api(client, token)
    problem = assert_refused(api, "GET", "/api/v1/users/")
    assert management_audience() in problem["detail"]
    assert_refused(api, "POST", "/api/v1/users/", {"username": "mallory", "password": "x" * 20})
    assert not User.objects.filter(username="mallory").exists()
    assert_refused(api, "POST", "/api/v1/clients/worker/secret/")
    worker_token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("worker", worker_secret),
    )
    assert worker_token.status_code == 200  # the secret was not rotated


def test_a_token_for_another_registered_api_is_refused(
    client, administrator, thirdparty, privileged_service
):
    register_api(ORDERS)
    allow_resources(thirdparty[0], ORDERS)
    user_token = user_tokens(client, thirdparty, "boss", scope="openid", resource=ORDERS)
    assert jwt.decode(user_token["access_token"], options={"verify_signature": False})["aud"] == [
        ORDERS
    ]
    assert_refused(Api(client, user_token["access_token"]), "GET", "/api/v1/users/")
    app, secret = privileged_service
    allow_resources(app, ORDERS)
    service_token = client_credentials_token(
        client, "svc", secret, scope="management", resource=ORDERS
    )
    assert_refused(Api(client, service_token), "GET", "/api/v1/users/")


def test_a_management_audience_token_without_the_management_scope_is_refused(
    client, privileged_service
):
    app, secret = privileged_service
    allow_resources(app, "management")
    token = client_credentials_token(client, "svc", secret, resource=management_audience())
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == [management_audience()] and claims["scope"] == ""
    problem = assert_refused(Api(client, token), "GET", "/api/v1/users/")
    assert "management scope" in problem["detail"]
    assert (
        Api(client, management_token(client, "svc", secret)).get("/api/v1/users/").status_code
        == 200
    )


def test_a_client_not_listing_management_gets_no_management_token(client, privileged_service):
    _app, secret = privileged_service
    response = ask_management_token(client, "svc", secret)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_a_token_of_a_client_that_no_longer_lists_management_is_refused(client, privileged_service):
    app, secret = privileged_service
    allow_resources(app, "management")
    api = Api(client, management_token(client, "svc", secret))
    assert api.get("/api/v1/users/").status_code == 200
    app.resources = []
    app.save()
    problem = assert_refused(api, "GET", "/api/v1/users/")
    assert "client may not use the management API" in problem["detail"]


def test_the_management_scope_must_be_allowed_like_any_other(client, make_client):
    app, secret = make_client(client_id="plain", name="Plain")
    allow_resources(app, "management")
    response = ask_management_token(client, "plain", secret)
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    app.allowed_scopes = ["management"]
    app.save()
    assert (
        Api(client, management_token(client, "plain", secret)).get("/api/v1/users/").status_code
        == 403
    )


def test_an_invalid_token_is_invalid_token_too(anonymous):
    response = anonymous.get("/api/v1/users/", HTTP_AUTHORIZATION="Bearer nonsense")
    assert_problem(response, 401, "not-authenticated")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_token_for_the_management_api_and_another_api_is_refused(client, privileged_service):
    """A token naming another API too would let that API replay it here as the caller."""
    app, secret = privileged_service
    register_api(ORDERS)
    allow_resources(app, "management", ORDERS)
    response = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "scope": "management",
            "resource": [management_audience(), ORDERS],
        },
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 200, response.content
    both = response.json()["access_token"]
    assert set(jwt.decode(both, options={"verify_signature": False})["aud"]) == {
        management_audience(),
        ORDERS,
    }
    refused = Api(client, both).get("/api/v1/users/")
    assert_problem(refused, 401, "not-authenticated")
    assert "no other resource" in refused["WWW-Authenticate"]
    alone = Api(client, management_token(client, app.client_id, secret)).get("/api/v1/users/")
    assert alone.status_code == 200
