"""Device authorization grant (RFC 8628) with the /device approval page."""

from urllib.parse import urlencode

import pytest

from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def tv(make_client):
    return make_client(
        client_id="tv",
        type="public",
        grant_types=[DEVICE_GRANT, "refresh_token"],
        scopes=["openid", "offline_access"],
    )


def start_device(client, scope):
    body = urlencode({"client_id": "tv", "scope": scope})
    return client.post(
        "/o/device-authorization/", body, content_type="application/x-www-form-urlencoded"
    )


def poll(client, device_code):
    return client.post(
        "/o/token/", {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": "tv"}
    )


def test_device_flow_end_to_end(client, signed_in, tv, resource_server):
    start = start_device(client, "openid offline_access")
    assert start.status_code == 200, start.content
    grant = start.json()
    assert grant["verification_uri"].endswith("/device")
    assert {"device_code", "user_code", "expires_in", "interval"} <= grant.keys()

    pending = poll(client, grant["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"

    page = signed_in.get("/device")
    assert page.status_code == 200 and b"user_code" in page.content
    entered = signed_in.post("/device", {"user_code": grant["user_code"]})
    assert entered.status_code == 302
    approved = signed_in.post(entered["Location"], {"action": "accept"})
    assert approved.status_code == 302

    tokens = poll(client, grant["device_code"])
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["token_type"] == "Bearer" and "refresh_token" in body
    rs, secret = resource_server
    info = client.post(
        "/o/introspect/",
        {"token": body["access_token"]},
        HTTP_AUTHORIZATION=basic_auth("rs1", secret),
    ).json()
    assert info["active"] is True and info["username"] == "alice" and info["client_id"] == "tv"


def test_a_device_code_gives_tokens_once(client, signed_in, tv, resource_server):
    """RFC 8628 §3.5: one token response per approval; the device code is gone with it."""
    grant = start_device(client, "openid offline_access").json()
    entered = signed_in.post("/device", {"user_code": grant["user_code"]})
    assert signed_in.post(entered["Location"], {"action": "accept"}).status_code == 302
    tokens = poll(client, grant["device_code"])
    assert tokens.status_code == 200, tokens.content
    again = poll(client, grant["device_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    rs, secret = resource_server
    info = client.post(
        "/o/introspect/",
        {"token": tokens.json()["access_token"]},
        HTTP_AUTHORIZATION=basic_auth("rs1", secret),
    ).json()
    assert info["active"] is True  # the answer the device got stays good


def test_denied_device_gets_access_denied(client, signed_in, tv):
    grant = start_device(client, "openid").json()
    entered = signed_in.post("/device", {"user_code": grant["user_code"]})
    signed_in.post(entered["Location"], {"action": "deny"})
    response = poll(client, grant["device_code"])
    assert response.status_code == 400 and response.json()["error"] == "access_denied"


def test_unknown_or_missing_device_code_is_invalid_grant(client, tv):
    assert poll(client, "nope").json()["error"] == "invalid_grant"
    missing = client.post("/o/token/", {"grant_type": DEVICE_GRANT, "client_id": "tv"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"


def test_device_page_requires_sign_in(client, tv):
    response = client.get("/device")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded;charset=UTF-8",  # what openid-client sends
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded",
    ],
)
def test_a_form_media_type_with_parameters_is_accepted(client, tv, content_type):
    body = urlencode({"client_id": "tv", "scope": "openid"})
    response = client.post("/o/device-authorization/", body, content_type=content_type)
    assert response.status_code == 200, response.content
    assert {"device_code", "user_code", "verification_uri"} <= response.json().keys()


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "application/json", "multipart/form-data"],
)
def test_a_missing_or_unusable_body_is_invalid_request(client, tv, content_type):
    """An empty POST, with or without a media type, is a 400, never a 500."""
    request = {"CONTENT_TYPE": content_type} if content_type else {}
    response = client.generic("POST", "/o/device-authorization/", b"", **request)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
