"""RFC 7662 introspection."""

from datetime import UTC, datetime

import pytest

from core.actors import APPLY
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def cc_token(client, make_client):
    _svc, secret = make_client(client_id="svc", scopes=["orders:read"])
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "orders:read"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    return response.json()["access_token"]


def introspect(client, rs, token, **extra):
    rs_client, secret = rs
    return client.post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(rs_client.client_id, secret),
        **extra,
    )


def test_active_token_has_the_standard_members(client, resource_server, cc_token):
    response = introspect(client, resource_server, cc_token)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == "svc" and body["sub"] == "svc" and body["scope"] == "orders:read"
    assert body["token_type"] == "Bearer"
    assert {"iss", "exp", "iat", "jti"} <= body.keys()
    assert "aud" not in body  # audience-less (aud = the issuer): see test_introspection_audience


def test_user_token_carries_username(code_flow, client, resource_server):
    body = introspect(client, resource_server, code_flow.tokens()["access_token"]).json()
    assert body["username"] == "alice" and body["sub"] == str(code_flow.browser.user.pk)


@pytest.mark.parametrize("token", ["", "garbage", "x" * 10_000, "a.b.c", "eyJ.eyJ.sig"])
def test_invalid_tokens_are_exactly_inactive(client, resource_server, token):
    response = introspect(client, resource_server, token)
    assert response.status_code == 200 and response.json() == {"active": False}


def test_forged_jwt_with_our_claims_is_inactive(client, resource_server, cc_token):
    header, payload, _sig = cc_token.split(".")
    assert introspect(client, resource_server, f"{header}.{payload}.AAAA").json() == {
        "active": False
    }


def test_id_token_is_not_an_access_token(code_flow, client, resource_server):
    id_token = code_flow.tokens()["id_token"]
    assert introspect(client, resource_server, id_token).json() == {"active": False}


def test_expired_token_is_inactive(client, resource_server, cc_token, clock):
    clock.advance(601)
    assert introspect(client, resource_server, cc_token).json() == {"active": False}


def test_unauthenticated_or_public_callers_are_refused(client, cc_token, make_client):
    assert client.post("/o/introspect/", {"token": cc_token}).status_code == 401
    bad = client.post(
        "/o/introspect/", {"token": cc_token}, HTTP_AUTHORIZATION=basic_auth("rs1", "nope")
    )
    assert bad.status_code == 401 and bad["WWW-Authenticate"].startswith("Basic")
    make_client(
        client_id="spa",
        type="public",
        grant_types=["authorization_code"],
        redirect_uris=["http://127.0.0.1/cb"],
    )
    public = client.post("/o/introspect/", {"token": cc_token, "client_id": "spa"})
    assert public.status_code == 401


def test_get_is_not_allowed(client, resource_server):
    assert client.get("/o/introspect/").status_code == 405


def test_refresh_token_is_introspectable_only_by_its_client(code_flow, client, resource_server):
    tokens = code_flow.tokens()
    assert introspect(client, resource_server, tokens["refresh_token"]).json() == {"active": False}
    own = client.post(
        "/o/introspect/",
        {"token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth("webapp", code_flow.secret),
    ).json()
    assert own["active"] is True and own["token_type"] == "refresh_token"


def test_a_cached_answer_still_expires(client, resource_server, cc_token, clock):
    assert introspect(client, resource_server, cc_token).json()["active"] is True  # cached
    clock.advance(601)
    assert introspect(client, resource_server, cc_token).json() == {"active": False}


def test_a_cached_answer_follows_user_and_role_changes(code_flow, client, resource_server):
    from accounts import services as account_services
    from core import generations
    from roles import services as role_services
    from roles.services import AssignmentSpec

    access = code_flow.tokens()["access_token"]
    assert introspect(client, resource_server, access).json()["roles"] == []
    role_services.role_create(actor=APPLY, name="auditor", permissions=["audit:read"])
    role_services.user_roles_set(
        user=code_flow.browser.user, assignments=[AssignmentSpec("auditor")]
    )
    generations._reset()  # the next request
    assert introspect(client, resource_server, access).json()["roles"] == ["auditor"]
    account_services.user_update(actor=APPLY, user=code_flow.browser.user, is_active=False)
    generations._reset()
    assert introspect(client, resource_server, access).json() == {"active": False}


def test_a_caller_is_refused_from_the_call_after_its_secret_is_rotated_or_it_is_disabled(
    client, resource_server, cc_token
):
    """A new secret, or a disabled client, is refused from the next call on."""
    from oauth.services import client_rotate_secret

    rs_client, _secret = resource_server
    assert introspect(client, resource_server, cc_token).json()["active"] is True
    new_secret = client_rotate_secret(actor=APPLY, client=rs_client)
    assert introspect(client, resource_server, cc_token).status_code == 401
    rotated = (rs_client, new_secret)
    assert introspect(client, rotated, cc_token).json()["active"] is True
    rs_client.is_active = False
    rs_client.save()
    assert introspect(client, rotated, cc_token).status_code == 401


def test_one_authentication_method_per_call(client, resource_server, cc_token):
    rs_client, secret = resource_server
    assert introspect(client, resource_server, cc_token).status_code == 200  # header now known
    both = client.post(
        "/o/introspect/",
        {"token": cc_token, "client_id": rs_client.client_id, "client_secret": secret},
        HTTP_AUTHORIZATION=basic_auth(rs_client.client_id, secret),
    )
    assert both.status_code == 401
    post_only = client.post(
        "/o/introspect/",
        {"token": cc_token, "client_id": rs_client.client_id, "client_secret": secret},
    )
    assert post_only.json()["active"] is True


def test_a_cached_answer_drops_a_role_when_its_assignment_expires(
    code_flow, client, resource_server, monkeypatch, clock
):
    """Nothing is written when an assignment expires, so no counter moves: the cached answer
    is recomputed once the expiry has passed."""
    import time as real_time

    from core import generations
    from roles import services as role_services
    from roles.services import AssignmentSpec

    access = code_flow.tokens()["access_token"]
    role_services.role_create(actor=APPLY, name="oncall", permissions=["pager:ack"])
    expires = real_time.time() + 120
    role_services.user_roles_set(
        user=code_flow.browser.user,
        assignments=[AssignmentSpec("oncall", expires_at=datetime.fromtimestamp(expires, UTC))],
    )
    generations._reset()
    assert introspect(client, resource_server, access).json()["roles"] == ["oncall"]
    generations._reset()
    assert introspect(client, resource_server, access).json()["roles"] == ["oncall"]  # cached
    clock.set(expires + 1)
    generations._reset()
    answer = introspect(client, resource_server, access).json()
    assert answer["active"] is True and answer["roles"] == [] and answer["permissions"] == []
