"""The gateway decision endpoint, called as nginx auth_request and Envoy ext_authz call it."""

import pytest
from django.test import Client

from core.actors import APPLY
from tests.conftest import basic_auth
from tests.gateway.conftest import ORDERS_API

pytestmark = pytest.mark.django_db


def nginx(client, method, uri, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(
        "/gateway/auth", HTTP_X_ORIGINAL_METHOD=method, HTTP_X_ORIGINAL_URI=uri, **headers
    )


def test_permitted_request_gets_identity_headers(client, tokens):
    response = nginx(client, "GET", "/api/orders/42?expand=items", tokens["writer"])
    assert response.status_code == 200
    assert response["X-Auth-Subject"] == "writer-svc"
    assert response["X-Auth-Client"] == "writer-svc"
    assert response["X-Auth-Roles"] == "orders-reader,orders-writer"


def test_no_or_bad_credential_is_401_with_a_challenge(client, tokens):
    missing = nginx(client, "GET", "/api/orders/1")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    bad = nginx(client, "GET", "/api/orders/1", "not-a-token")
    assert bad.status_code == 401 and 'error="invalid_token"' in bad["WWW-Authenticate"]


def test_policy_denial_is_403(client, tokens):
    assert nginx(client, "POST", "/api/orders", tokens["reader"]).status_code == 403
    assert nginx(client, "GET", "/api/admin/users", tokens["writer"]).status_code == 403
    assert nginx(client, "GET", "/api/orders/../admin", tokens["writer"]).status_code == 403


def test_missing_original_request_headers_fail_closed(client, tokens):
    response = client.get("/gateway/auth", HTTP_AUTHORIZATION=f"Bearer {tokens['writer']}")
    assert response.status_code == 403


def test_revoked_token_is_refused_at_once(client, tokens):
    assert nginx(client, "GET", "/api/orders/1", tokens["reader"]).status_code == 200
    revoked = client.post(
        "/o/revoke_token/",
        {"token": tokens["reader"]},
        HTTP_AUTHORIZATION=basic_auth("reader-svc", tokens["reader_secret"]),
    )
    assert revoked.status_code == 200
    assert nginx(client, "GET", "/api/orders/1", tokens["reader"]).status_code == 401


def test_envoy_ext_authz_uses_the_request_line(client, tokens):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['reader']}"}
    assert client.get("/gateway/envoy/api/orders/7", **auth).status_code == 200
    assert client.post("/gateway/envoy/api/orders", **auth).status_code == 403
    assert client.delete("/gateway/envoy/api/orders/7", **auth).status_code == 403


def test_rate_limit_per_principal(client, tokens, settings, rate_limit_clock):
    settings.GATEWAY_RATE_LIMIT = 3
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['reader']}"}
    statuses = [client.get("/gateway/envoy/api/orders/1", **auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/gateway/envoy/api/orders/1", **auth)
    assert int(limited["Retry-After"]) >= 1
    via_nginx = nginx(client, "GET", "/api/orders/1", tokens["reader"])
    assert via_nginx.status_code == 403 and via_nginx["X-Auth-Reason"] == "rate_limited"
    # another principal has its own budget
    assert (
        client.get(
            "/gateway/envoy/api/orders/1", HTTP_AUTHORIZATION=f"Bearer {tokens['writer']}"
        ).status_code
        == 200
    )


def test_api_keys_work_at_the_gateway_on_the_keys_own_budget(
    client, tokens, settings, rate_limit_clock
):
    from apikeys import services as key_services
    from oauth.models import Client

    settings.GATEWAY_RATE_LIMIT = 5
    settings.API_KEY_RATE_LIMIT = 2
    owner = Client.objects.get(client_id="reader-svc")
    _key, full = key_services.api_key_create(
        actor=APPLY, name="ci", client=owner, roles=["orders-reader"]
    )
    headers = {"HTTP_X_API_KEY": full}
    assert client.get("/gateway/envoy/api/orders/1", **headers)["X-Auth-Client"] == "reader-svc"
    assert client.get("/gateway/envoy/api/orders/1", **headers).status_code == 200
    limited = client.get("/gateway/envoy/api/orders/1", **headers)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    via_nginx = nginx(client, "GET", "/api/orders/1", **headers)
    assert via_nginx.status_code == 403 and via_nginx["X-Auth-Reason"] == "rate_limited"
    # the owning client's own token is counted separately from its key, per GATEWAY_RATE_LIMIT
    token = {"HTTP_AUTHORIZATION": f"Bearer {tokens['reader']}"}
    assert client.get("/gateway/envoy/api/orders/1", **token).status_code == 200


BILLING_API = "https://billing.example.test/"


def test_only_tokens_meant_for_the_fronted_api_pass(client, tokens, make_api):
    """A token issued for the Billing API is refused by the gateway fronting the Orders API,
    and the same gateway passes a token issued for Orders."""
    from oauth.models import Client

    make_api(BILLING_API, name="Billing API")
    reader = Client.objects.get(client_id="reader-svc")
    reader.resources = [ORDERS_API, BILLING_API]
    reader.save()

    def token_for(resource):
        data = {"grant_type": "client_credentials", "resource": resource}
        auth = basic_auth("reader-svc", tokens["reader_secret"])
        return client.post("/o/token/", data, HTTP_AUTHORIZATION=auth).json()["access_token"]

    refused = nginx(client, "GET", "/api/orders/1", token_for(BILLING_API))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
    envoy = client.get(
        "/gateway/envoy/api/orders/1", HTTP_AUTHORIZATION=f"Bearer {token_for(BILLING_API)}"
    )
    assert envoy.status_code == 401
    passed = nginx(client, "GET", "/api/orders/1", token_for(ORDERS_API))
    assert passed.status_code == 200 and passed["X-Auth-Client"] == "reader-svc"


@pytest.mark.parametrize("audience", [None, "", "https://unregistered.example.test/"])
def test_a_gateway_naming_no_registered_api_fails_closed(tokens, audience):
    headers = {} if audience is None else {"HTTP_X_AUTH_AUDIENCE": audience}
    unconfigured = Client(**headers)
    response = nginx(unconfigured, "GET", "/api/orders/1", tokens["writer"])
    assert response.status_code == 403
    envoy = unconfigured.get(
        "/gateway/envoy/api/orders/1", HTTP_AUTHORIZATION=f"Bearer {tokens['writer']}"
    )
    assert envoy.status_code == 403


def test_a_users_key_is_bounded_by_the_roles_their_groups_give(client, tokens, make_user):
    """A user-owned key at the gateway: its role counts while the owner holds it through a
    group, and stops at the next request once the membership ends."""
    from apikeys import services as key_services
    from roles import group_services

    owner = make_user("gwen")
    staff = group_services.group_create(actor=APPLY, name="staff", roles=["orders-reader"])
    group_services.group_member_add(actor=APPLY, group=staff, user=owner)
    _key, full = key_services.api_key_create(
        actor=APPLY, name="ci", user=owner, roles=["orders-reader"]
    )
    headers = {"HTTP_X_API_KEY": full}
    allowed = nginx(client, "GET", "/api/orders/1", **headers)
    assert allowed.status_code == 200 and allowed["X-Auth-Roles"] == "orders-reader"
    group_services.group_member_remove(actor=APPLY, group=staff, user=owner)
    assert nginx(client, "GET", "/api/orders/1", **headers).status_code == 403
