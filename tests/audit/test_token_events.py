"""Token, introspection and decision events reach the audit log (SECURITY 71), with no secret."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from core.actors import APPLY
from tests.conftest import basic_auth, introspect

pytestmark = pytest.mark.django_db


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name).order_by("id"))


@pytest.fixture
def service(make_client):
    return make_client(client_id="svc", scopes=["orders:read"])


def cc_token(http, secret, scope="orders:read"):
    return http.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
        HTTP_USER_AGENT="svc/1.0",
        HTTP_X_REQUEST_ID="req-42",
    )


def test_a_client_credentials_token_is_audited_without_the_token(client, service):
    from oauth import tokens

    _svc, secret = service
    token = cc_token(client, secret).json()["access_token"]
    [event] = events("token.issued")
    assert (event.actor, event.target, event.client_id) == ("svc", "client:svc", "svc")
    assert event.outcome == "success" and event.ip == "127.0.0.1"
    assert event.user_agent == "svc/1.0" and event.request_id == "req-42"
    assert event.data["grant_type"] == "client_credentials"
    assert event.data["jti"] == tokens.unverified_claims(token)["jti"]
    assert token not in json.dumps(event.data) and secret not in json.dumps(event.data)


def test_code_refresh_and_reuse_are_audited(code_flow, client):
    issued = code_flow.tokens(scope="openid offline_access")
    [first] = events("token.issued")
    assert first.target == "user:alice" and first.data["with_refresh"] is True
    web_id, secret = code_flow.client_obj.client_id, code_flow.secret

    def refresh(token):
        return client.post(
            "/o/token/",
            {"grant_type": "refresh_token", "refresh_token": token},
            HTTP_AUTHORIZATION=basic_auth(web_id, secret),
        )

    assert refresh(issued["refresh_token"]).status_code == 200
    assert events("token.refreshed")[0].target == "user:alice"
    assert refresh(issued["refresh_token"]).status_code == 400  # the rotated-out token again
    [reuse] = events("token.reuse_detected")
    assert reuse.outcome == "denied" and reuse.client_id == web_id
    assert reuse.target == "user:alice" and reuse.data["family"]
    assert events("token.refused")[0].data["error"] == "invalid_grant"


def test_revocation_and_refusals_are_audited(client, service):
    _svc, secret = service
    token = cc_token(client, secret).json()["access_token"]
    client.post(
        "/o/revoke_token/",
        {"token": token, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    [revoked] = events("token.revoked")
    assert revoked.client_id == "svc" and revoked.data == {
        "via": "rfc7009",
        "type_hint": "access_token",
    }
    assert cc_token(client, secret, scope="admin").status_code == 400
    [refused] = events("token.refused")
    assert refused.outcome == "failure" and refused.data["error"] == "invalid_scope"


def test_refused_introspection_callers_are_audited(client, service):
    _svc, secret = service
    token = cc_token(client, secret).json()["access_token"]
    answer = client.post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth("svc", "wrong")
    )
    assert answer.status_code == 401
    [denied] = events("introspection.denied")
    assert denied.outcome == "denied" and denied.client_id == "svc"


def test_denied_decisions_are_audited(client, make_client, resource_server):
    from roles import services
    from roles.services import AssignmentSpec

    services.role_create(actor=APPLY, name="pdp", permissions=["authz:evaluate"])
    rs, rs_secret = resource_server
    services.client_roles_set(client=rs, assignments=[AssignmentSpec("pdp")])
    body = {
        "subject": {"type": "client", "id": "rs1"},
        "action": {"name": "DELETE"},
        "resource": {"type": "route", "id": "/api/orders/1"},
    }
    answer = Client().post(
        "/access/v1/evaluation",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth("rs1", rs_secret),
    )
    assert answer.json() == {"decision": False}
    [denied] = events("access.denied")
    assert denied.client_id == "rs1" and denied.data == {"denied": 1, "of": 1}
    introspect(client, resource_server, "not-a-token")  # inactive is an answer, not an event
    assert not events("introspection.denied")


def test_a_nul_in_a_refused_request_is_stored_replaced(client, service):
    """PostgreSQL's text and jsonb refuse NUL characters: a refused request carrying one is
    still answered and audited, the NUL replaced (U+FFFD), in both database modes."""
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "svc\x00", "client_secret": "x"},
        HTTP_USER_AGENT="agent\x00",
    )
    assert response.status_code == 401
    [event] = events("token.client_auth")
    assert (event.client_id, event.user_agent) == ("svc\ufffd", "agent\ufffd")
