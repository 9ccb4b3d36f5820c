"""Refresh rotation with reuse detection (RFC 9700 §4.14.2), lifetimes, and RFC 7009 revocation."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from oauth.models import AuthContext
from tests.apis import allow_resources, register_api
from tests.conftest import basic_auth, introspect

pytestmark = pytest.mark.django_db


def refresh(flow, refresh_token, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return flow.browser.post(
        "/o/token/", data, HTTP_AUTHORIZATION=basic_auth("webapp", flow.secret)
    )


def revoke(flow, token, **extra):
    return flow.browser.post(
        "/o/revoke_token/",
        {"token": token, **extra},
        HTTP_AUTHORIZATION=basic_auth("webapp", flow.secret),
    )


def test_each_refresh_rotates_and_keeps_the_sign_in_context(code_flow, client, resource_server):
    first = code_flow.tokens()
    second = refresh(code_flow, first["refresh_token"])
    assert second.status_code == 200
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    info = introspect(client, resource_server, body["access_token"])
    assert info["active"] is True and info["amr"] == ["pwd"] and info["acr"] == "1"


def test_reusing_a_rotated_refresh_token_revokes_the_family(code_flow, client, resource_server):
    first = code_flow.tokens()
    second = refresh(code_flow, first["refresh_token"]).json()
    replay = refresh(code_flow, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # the legitimate-looking current pair dies with the family
    assert refresh(code_flow, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, second["access_token"]) == {"active": False}


def test_only_the_immediate_predecessor_is_never_accepted_after_rotation(code_flow):
    r1 = code_flow.tokens()["refresh_token"]
    r2 = refresh(code_flow, r1).json()["refresh_token"]
    refresh(code_flow, r2)
    assert refresh(code_flow, r1).status_code == 400


def test_refresh_is_bound_to_the_client(code_flow, make_client):
    _other, other_secret = make_client(
        client_id="other", grant_types=["client_credentials", "refresh_token"]
    )
    rt = code_flow.tokens()["refresh_token"]
    response = code_flow.browser.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": rt},
        HTTP_AUTHORIZATION=basic_auth("other", other_secret),
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in {"invalid_grant", "unauthorized_client"}
    no_auth = code_flow.browser.post(
        "/o/token/", {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "webapp"}
    )
    assert no_auth.status_code == 401 and no_auth.json()["error"] == "invalid_client"


def test_refresh_cannot_widen_scope_but_may_narrow_it(code_flow):
    rt = code_flow.tokens(scope="openid offline_access")["refresh_token"]
    wider = refresh(code_flow, rt, scope="openid offline_access email")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = refresh(code_flow, rt, scope="openid")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid"


def test_absolute_lifetime_ends_the_family(code_flow, settings):
    rt = code_flow.tokens()["refresh_token"]
    AuthContext.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME + 1)
    )
    response = refresh(code_flow, rt)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_disabling_the_user_kills_refresh_and_introspection(code_flow, client, resource_server):
    tokens = code_flow.tokens()
    user = code_flow.browser.user
    user.is_active = False
    user.save()
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    assert refresh(code_flow, tokens["refresh_token"]).status_code == 400


def test_revoking_a_refresh_token_revokes_its_access_token(code_flow, client, resource_server):
    tokens = code_flow.tokens()
    response = revoke(code_flow, tokens["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    assert refresh(code_flow, tokens["refresh_token"]).status_code == 400


def test_revoking_an_access_token_with_a_wrong_hint_still_revokes_it(
    code_flow, client, resource_server
):
    tokens = code_flow.tokens()
    assert (
        revoke(code_flow, tokens["access_token"], token_type_hint="refresh_token").status_code
        == 200
    )
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000])
def test_revoking_unknown_tokens_answers_200(code_flow, token):
    assert revoke(code_flow, token).status_code == 200


def test_revocation_without_a_token_is_invalid_request(code_flow):
    response = revoke(code_flow, "")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_revocation_requires_client_authentication(code_flow, client):
    tokens = code_flow.tokens()
    response = client.post(
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth("webapp", "wrong"),
    )
    assert response.status_code == 401


def test_another_client_cannot_revoke_my_token(code_flow, client, make_client, resource_server):
    _other, other_secret = make_client(client_id="other")
    tokens = code_flow.tokens()
    response = client.post(
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth("other", other_secret),
    )
    assert response.status_code in (200, 400)
    assert introspect(client, resource_server, tokens["access_token"])["active"] is True


def _audience(token: str):
    return jwt.decode(token, options={"verify_signature": False})["aud"]


def registered_apis(code_flow) -> tuple[str, str]:
    """Two registered APIs the flow's client may obtain tokens for."""
    api, reports = "https://api.example", "https://reports.example"
    for identifier in (api, reports):
        register_api(identifier)
    allow_resources(code_flow.client_obj, api, reports)
    return api, reports


def test_resource_indicators_of_the_authorization_stay_the_audience(code_flow):
    """RFC 8707: resources asked for at /o/authorize/ are the ``aud`` of every access token of
    that grant, at the code exchange and after each refresh; a refresh cannot add one."""
    api, reports = registered_apis(code_flow)
    code, verifier = code_flow.code(resource=api)
    first = code_flow.exchange(code, verifier).json()
    assert _audience(first["access_token"]) == [api]

    second = refresh(code_flow, first["refresh_token"]).json()
    assert _audience(second["access_token"]) == [api]

    widened = refresh(code_flow, second["refresh_token"], resource=reports)
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"


def test_a_token_request_narrows_the_resources_of_the_authorization(code_flow):
    api, reports = registered_apis(code_flow)
    code, verifier = code_flow.code(resource=[api, reports])
    narrowed = code_flow.exchange(code, verifier, resource=reports).json()
    assert _audience(narrowed["access_token"]) == [reports]
    # the refresh token carries the narrowed set on (django-oauth-toolkit stores it so)
    again = refresh(code_flow, narrowed["refresh_token"]).json()
    assert _audience(again["access_token"]) == [reports]

    code, verifier = code_flow.code(resource=api)
    escalated = code_flow.exchange(code, verifier, resource=reports)
    assert escalated.status_code == 400 and escalated.json()["error"] == "invalid_target"
