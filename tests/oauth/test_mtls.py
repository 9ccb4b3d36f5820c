"""Mutual TLS (RFC 8705) at the test client's level: the certificate as our handshake leaves it
in the environ (``direct``) or as a trusted proxy forwarded it (``forwarded``: the chain is
verified here). ``tls_client_auth`` and ``self_signed_tls_client_auth`` at every endpoint that
authenticates clients, certificate-bound access tokens (``cnf.x5t#S256``) refused without their
certificate, discovery, the FAPI 2.0 profile with mTLS, and the validation of the client
fields. The real wire (gunicorn's handshake, nginx forwarding) is tests/ops/test_mtls_live.py."""

import jwt
import pytest

from oauth import services
from tests.conftest import (
    APPLY,
    REDIRECT_URI,
    authorize_params,
    basic_auth,
    code_grant,
    introspect,
    pkce_pair,
    query_of,
)
from tests.mtls import Ca, self_signed

pytestmark = pytest.mark.django_db

CA = Ca()
OTHER_CA = Ca("Somebody else's CA")
SVC = CA.issue(
    "orders-svc",
    dns=("orders.example.com",),
    uris=("spiffe://example.com/orders",),
    ips=("10.1.2.3",),
    emails=("orders@example.com",),
)
SVC_DN = "CN=orders-svc,O=Example"


@pytest.fixture(autouse=True)
def client_ca(settings, tmp_path):
    settings.TLS_CLIENT_CA_FILE = CA.write(tmp_path / "client-ca.pem")


def cc_token(http, client_id, carrier=None, **extra):
    """A client_credentials request from ``client_id`` with a certificate's environ."""
    return http.post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": client_id, **extra},
        **(carrier or {}),
    )


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def tls_client(make_client):
    client, secret = make_client(
        client_id="orders",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn=SVC_DN,
    )
    assert secret is None  # a certificate, no secret
    return client


# --- tls_client_auth --------------------------------------------------------------------------
@pytest.mark.parametrize("carrier", ["direct", "forwarded"])
def test_tls_client_auth_with_the_registered_subject_dn(client, tls_client, carrier):
    response = cc_token(client, "orders", getattr(SVC, carrier)())
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["client_id"] == "orders"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tls_client_auth_san_dns", "ORDERS.example.com"),
        ("tls_client_auth_san_uri", "spiffe://example.com/orders"),
        ("tls_client_auth_san_ip", "10.1.2.3"),
        ("tls_client_auth_san_email", "orders@example.com"),
    ],
)
def test_tls_client_auth_with_a_registered_san(client, make_client, field, value):
    make_client(client_id="orders", token_endpoint_auth_method="tls_client_auth", **{field: value})
    assert cc_token(client, "orders", SVC.forwarded()).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tls_client_auth_subject_dn", "CN=billing-svc,O=Example"),
        ("tls_client_auth_san_dns", "billing.example.com"),
        ("tls_client_auth_san_uri", "spiffe://example.com/billing"),
        ("tls_client_auth_san_ip", "10.1.2.4"),
        ("tls_client_auth_san_email", "billing@example.com"),
    ],
)
def test_tls_client_auth_with_another_subject_is_invalid_client(client, make_client, field, value):
    make_client(client_id="orders", token_endpoint_auth_method="tls_client_auth", **{field: value})
    response = cc_token(client, "orders", SVC.forwarded())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_tls_client_auth_refuses_a_certificate_of_another_ca(client, tls_client):
    impostor = OTHER_CA.issue("orders-svc")  # the same DN, signed by somebody else
    response = cc_token(client, "orders", impostor.forwarded())
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    forged = self_signed("orders-svc")
    assert cc_token(client, "orders", forged.forwarded()).status_code == 401


def test_tls_client_auth_without_a_certificate_or_without_a_ca_file(client, tls_client, settings):
    assert cc_token(client, "orders").status_code == 401
    settings.TLS_CLIENT_CA_FILE = ""
    assert cc_token(client, "orders", SVC.forwarded()).status_code == 401


def test_a_secret_does_not_stand_in_for_the_certificate(client, tls_client):
    response = cc_token(client, "orders", client_secret="guess")
    assert response.status_code == 401
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("orders", "guess"),
        **SVC.forwarded(),
    )
    assert response.status_code == 401


def test_mtls_authenticates_at_introspection_and_revocation(client, tls_client, make_api):
    make_api("https://orders.example.com/", client=tls_client, name="Orders")
    token = cc_token(client, "orders", SVC.forwarded()).json()["access_token"]
    answer = client.post("/o/introspect/", {"token": token, "client_id": "orders"}, **SVC.direct())
    assert answer.status_code == 200 and answer.json()["active"] is True
    refused = client.post("/o/introspect/", {"token": token, "client_id": "orders"})
    assert refused.status_code == 401
    anonymous = client.post("/o/revoke_token/", {"token": token, "client_id": "orders"})
    assert anonymous.status_code == 401
    revoked = client.post(
        "/o/revoke_token/", {"token": token, "client_id": "orders"}, **SVC.forwarded()
    )
    assert revoked.status_code == 200


def test_mtls_authenticates_a_pushed_authorization_request(client, make_client):
    make_client(
        client_id="orders",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn=SVC_DN,
    )
    _verifier, challenge = pkce_pair()
    params = authorize_params("orders", challenge, scope="openid")
    pushed = client.post("/o/par/", params, **SVC.forwarded())
    assert pushed.status_code == 201, pushed.content
    assert pushed.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    refused = client.post("/o/par/", params, **OTHER_CA.issue("orders-svc").forwarded())
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


# --- self_signed_tls_client_auth -------------------------------------------------------------
def test_self_signed_with_the_key_in_the_jwks(client, make_client):
    mine = self_signed("my-device")
    make_client(
        client_id="device",
        token_endpoint_auth_method="self_signed_tls_client_auth",
        jwks=mine.jwks(),
    )
    assert cc_token(client, "device", mine.forwarded()).status_code == 200
    other = self_signed("my-device")  # same name, another key
    response = cc_token(client, "device", other.forwarded())
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    # a CA-issued certificate is no better: only the registered key counts
    assert cc_token(client, "device", SVC.direct()).status_code == 401


# --- certificate-bound access tokens ---------------------------------------------------------
@pytest.fixture
def bound_client(make_client):
    client, _ = make_client(
        client_id="orders",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn=SVC_DN,
        tls_client_certificate_bound_access_tokens=True,
    )
    return client


def test_a_bound_token_carries_the_thumbprint_and_introspection_reports_it(
    client, bound_client, resource_server
):
    body = cc_token(client, "orders", SVC.forwarded()).json()
    assert body["token_type"] == "Bearer"  # RFC 8705 §3: still a bearer-scheme token
    assert claims_of(body["access_token"])["cnf"] == {"x5t#S256": SVC.x5t}
    answer = introspect(client, resource_server, body["access_token"])
    assert answer["active"] is True
    assert answer["cnf"] == {"x5t#S256": SVC.x5t} and answer["token_type"] == "Bearer"


def test_a_client_registered_for_bound_tokens_must_present_its_certificate(client, make_client):
    _, secret = make_client(client_id="svc", tls_client_certificate_bound_access_tokens=True)
    auth = {"HTTP_AUTHORIZATION": basic_auth("svc", secret)}
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, **auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    # any client authentication will do; the token is bound to the certificate presented
    mine = self_signed("svc")
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, **auth, **mine.forwarded()
    )
    assert claims_of(response.json()["access_token"])["cnf"] == {"x5t#S256": mine.x5t}


def test_userinfo_takes_a_bound_token_only_with_its_certificate(signed_in, make_client):
    web, secret = make_client(
        client_id="web",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile"],
        skip_consent=True,
        tls_client_certificate_bound_access_tokens=True,
    )
    mine = self_signed("web-backend")
    tokens = code_grant(signed_in, web, secret, scope="openid profile", **mine.forwarded())
    token = tokens["access_token"]
    assert claims_of(token)["cnf"] == {"x5t#S256": mine.x5t}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert signed_in.get("/o/userinfo/", **auth, **mine.forwarded()).status_code == 200
    for carrier in ({}, self_signed("thief").forwarded()):
        response = signed_in.get("/o/userinfo/", **auth, **carrier)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert response["WWW-Authenticate"].startswith('Bearer realm="authserver", error=')


def test_the_authzen_caller_with_a_bound_token_needs_its_certificate(client, bound_client):
    token = cc_token(client, "orders", SVC.forwarded()).json()["access_token"]
    body = {"subject": {"type": "user", "id": "x"}, "action": {"name": "read"}}
    body["resource"] = {"type": "doc", "id": "1"}
    call = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.post("/access/v1/evaluation", body, **call).status_code == 401
    # with the certificate the caller is known (it lacks the evaluate permission: 403)
    assert client.post("/access/v1/evaluation", body, **call, **SVC.forwarded()).status_code == 403


# --- discovery -------------------------------------------------------------------------------
def test_discovery_names_the_mtls_methods_and_aliases(client, settings):
    settings.MTLS_BASE_URL = "https://mtls.auth.example.com"
    document = client.get("/.well-known/openid-configuration").json()
    assert document["tls_client_certificate_bound_access_tokens"] is True
    for key in (
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ):
        assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(document[key])
    aliases = document["mtls_endpoint_aliases"]
    assert aliases["token_endpoint"] == "https://mtls.auth.example.com/o/token/"
    assert aliases["userinfo_endpoint"] == "https://mtls.auth.example.com/o/userinfo/"
    assert aliases["pushed_authorization_request_endpoint"].endswith("/o/par/")
    settings.MTLS_BASE_URL, settings.TLS_CLIENT_CA_FILE = "", ""
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["mtls_endpoint_aliases"]["token_endpoint"] == metadata["token_endpoint"]
    assert "tls_client_auth" not in metadata["token_endpoint_auth_methods_supported"]
    assert "self_signed_tls_client_auth" in metadata["token_endpoint_auth_methods_supported"]


# --- FAPI 2.0 --------------------------------------------------------------------------------
def test_a_fapi2_client_may_use_mtls_for_authentication_and_sender_constraint(client, make_client):
    make_client(
        client_id="bank",
        profile="fapi2",
        id_token_signed_response_alg="ES256",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn=SVC_DN,
        tls_client_certificate_bound_access_tokens=True,
    )
    response = cc_token(client, "bank", SVC.forwarded())  # no DPoP proof: mTLS constrains it
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["cnf"] == {"x5t#S256": SVC.x5t}
    refused = cc_token(client, "bank")  # and no certificate, no token
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def test_a_fapi2_client_with_mtls_auth_but_no_bound_tokens_still_needs_dpop(client, make_client):
    make_client(
        client_id="bank",
        profile="fapi2",
        id_token_signed_response_alg="ES256",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn=SVC_DN,
    )
    response = cc_token(client, "bank", SVC.forwarded())
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


# --- the client fields, in each surface's format ---------------------------------------------
@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"token_endpoint_auth_method": "tls_client_auth"}, "tls_client_auth_subject_dn"),
        (
            {
                "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_subject_dn": SVC_DN,
                "tls_client_auth_san_dns": "orders.example.com",
            },
            "tls_client_auth_san_dns",
        ),
        (
            {"token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_san_ip": "a.b"},
            "tls_client_auth_san_ip",
        ),
        (
            {"token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_subject_dn": "x"},
            "tls_client_auth_subject_dn",
        ),
        ({"tls_client_auth_san_dns": "orders.example.com"}, "tls_client_auth_san_dns"),
        ({"token_endpoint_auth_method": "self_signed_tls_client_auth"}, "jwks"),
    ],
)
def test_bad_mtls_fields_are_named_by_each_surface(spec, field):
    assert field in services.client_errors({"type": "confidential", **spec}, client=None)


def test_apply_round_trips_the_mtls_fields(tls_client):
    from oauth.config import export_clients

    services.client_update(
        actor=APPLY, client=tls_client, spec={"tls_client_certificate_bound_access_tokens": True}
    )
    entry = next(e for e in export_clients() if e["client_id"] == "orders")
    assert entry["token_endpoint_auth_method"] == "tls_client_auth"
    assert entry["tls_client_auth_subject_dn"] == SVC_DN
    assert entry["tls_client_certificate_bound_access_tokens"] is True
    assert "tls_client_auth_san_dns" not in entry


def test_a_public_clients_refresh_token_is_bound_to_its_certificate(signed_in, make_client):
    make_client(
        client_id="app",
        type="public",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "offline_access"],
        skip_consent=True,
        tls_client_certificate_bound_access_tokens=True,
    )
    mine, thief = self_signed("app-install"), self_signed("thief")
    verifier, challenge = pkce_pair()
    params = authorize_params("app", challenge, scope="openid offline_access")
    code = query_of(signed_in.get("/o/authorize/", params)["Location"])["code"]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "app",
    }
    tokens = signed_in.post("/o/token/", exchange, **mine.forwarded())
    assert tokens.status_code == 200, tokens.content
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens.json()["refresh_token"],
        "client_id": "app",
    }
    stolen = signed_in.post("/o/token/", refresh, **thief.forwarded())
    assert stolen.status_code == 400 and stolen.json() == {
        "error": "invalid_grant",
        "error_description": "This grant is bound to a TLS client certificate: present that "
        "certificate.",
    }
    renewed = signed_in.post("/o/token/", refresh, **mine.forwarded())
    assert renewed.status_code == 200, renewed.content
    assert claims_of(renewed.json()["access_token"])["cnf"] == {"x5t#S256": mine.x5t}
