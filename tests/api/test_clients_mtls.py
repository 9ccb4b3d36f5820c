"""The management API and mutual TLS (RFC 8705): the client fields in its schema and problems,
and a certificate-bound token accepted as a caller's credential only with its certificate."""

import pytest

from oauth.apis import MANAGEMENT_SCOPE, management_audience
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.api.conftest import ADMIN_PERMISSIONS, allow_management, error_fields
from tests.conftest import APPLY
from tests.mtls import Ca, self_signed

pytestmark = pytest.mark.django_db

CA = Ca()


def test_bad_mtls_fields_are_a_validation_problem(admin):
    response = admin.post(
        "/api/v1/clients/",
        {
            "name": "orders",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_san_ip": "not-an-ip",
        },
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "tls_client_auth_san_ip" in error_fields(response.json())


def test_a_tls_client_is_created_without_a_secret(admin):
    response = admin.post(
        "/api/v1/clients/",
        {
            "name": "orders",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_san_uri": "spiffe://example.com/orders",
            "tls_client_certificate_bound_access_tokens": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["client_secret"] is None and body["has_secret"] is False
    assert body["tls_client_auth_san_uri"] == "spiffe://example.com/orders"
    assert body["tls_client_certificate_bound_access_tokens"] is True
    schema = admin.get("/api/v1/schema/?format=json").json()
    schemas = schema["components"]["schemas"]
    for name in ("ClientsApiCreateInputRequest", "PatchedClientSpecInputRequest", "ClientOutput"):
        assert "tls_client_certificate_bound_access_tokens" in schemas[name]["properties"]
        assert "tls_client_auth_subject_dn" in schemas[name]["properties"]
    methods = schemas["TokenEndpointAuthMethodEnum"]["enum"]
    assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(methods)


def test_a_bound_caller_token_works_only_with_its_certificate(
    client, make_client, settings, tmp_path
):
    settings.TLS_CLIENT_CA_FILE = CA.write(tmp_path / "ca.pem")
    mine = CA.issue("ops-bot")
    app, _ = make_client(
        client_id="ops-bot",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn="CN=ops-bot,O=Example",
        tls_client_certificate_bound_access_tokens=True,
    )
    allow_management(app)
    role_services.role_create(actor=APPLY, name="ops", permissions=ADMIN_PERMISSIONS)
    role_services.client_roles_set(client=app, assignments=[AssignmentSpec("ops")])
    response = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": "ops-bot",
            "scope": MANAGEMENT_SCOPE,
            "resource": management_audience(),
        },
        **mine.forwarded(),
    )
    assert response.status_code == 200, response.content
    auth = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}
    assert client.get("/api/v1/clients/", **auth, **mine.forwarded()).status_code == 200
    for carrier in ({}, self_signed("ops-bot").forwarded(), CA.issue("ops-bot").direct()):
        refused = client.get("/api/v1/clients/", **auth, **carrier)
        assert refused.status_code == 401
        assert refused["Content-Type"] == "application/problem+json"
        challenge = refused["WWW-Authenticate"]
        assert 'error="invalid_token"' in challenge and "TLS client certificate" in challenge
