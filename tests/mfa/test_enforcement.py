"""Who must use MFA, step-up at the authorization endpoint, and amr/acr/auth_time in tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from oauthlib.common import Request as OAuthlibRequest

from accounts.session import SESSION_KEY as AUTH_STATE
from mfa import policy
from oauth import tokens
from tests.conftest import REDIRECT_URI, basic_auth, login, query_of
from tests.mfa.conftest import code_now

pytestmark = pytest.mark.django_db


def authorize_url(client_id: str = "webapp", **extra: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "st",
        "nonce": "nn",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"/o/authorize/?{urlencode(params)}", verifier


def token_request(user, client, device_code: str) -> OAuthlibRequest:
    """The oauthlib request DOT's device grant hands to its pre-token hook."""
    request = OAuthlibRequest(
        "https://id.example.com/o/token/", http_method="POST", body={"device_code": device_code}
    )
    request.user = user
    request.client = client
    return request


def redeem(browser, location: str, verifier: str, secret: str) -> dict:
    code = query_of(location)["code"]
    response = browser.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth("webapp", secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def claims_of(token: str) -> dict:
    return tokens.unverified_claims(token)


def follow_step_up(browser, response, secret, clock):
    """From a redirect to the second-factor page, enter the code and come back."""
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/authenticate/?next=")
    back = browser.post(response["Location"], {"code": code_now(secret, clock)})
    assert back.status_code == 302
    return browser.get(back["Location"])


@pytest.fixture
def app_secret(web_client):
    return web_client[1]


@pytest.fixture
def password_user(make_user):
    return make_user("alice")


# --- policy (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acr_values", "claims", "required"),
    [
        (None, None, False),
        ("1", None, False),
        ("2", None, True),
        ("1 2", None, True),
        (None, '{"id_token": {"acr": {"essential": true, "values": ["2"]}}}', True),
        (None, '{"userinfo": {"acr": {"essential": true, "value": "2"}}}', True),
        (None, '{"id_token": {"acr": {"values": ["2"]}}}', False),  # voluntary
        (None, "not json", False),
        (None, '["x"]', False),
    ],
)
def test_request_asks_for_mfa(acr_values, claims, required):
    assert policy.request_requires_mfa(acr_values=acr_values, claims=claims) is required


def test_role_with_require_mfa_makes_mfa_required(monkeypatch, password_user):
    """Written against the roles hook (RBAC is built on another branch): the hook's answer
    is what counts."""
    assert not policy.user_requires_mfa(password_user)
    monkeypatch.setattr(policy, "_roles_hook", lambda: lambda user: user.username == "alice")
    assert policy.user_requires_mfa(password_user)


def test_missing_roles_module_means_no_role_requirement(password_user):
    policy._roles_hook.cache_clear()
    assert policy.roles_require_mfa(password_user) is False  # a user without roles


# --- step-up at the authorization endpoint -------------------------------------------------


def test_password_session_gets_a_code_with_acr_1(client, web_client, password_user, app_secret):
    login(client, "alice")
    url, verifier = authorize_url()
    response = client.get(url)
    assert response.status_code == 302 and "code=" in response["Location"]
    token = redeem(client, response["Location"], verifier, app_secret)
    id_token = claims_of(token["id_token"])
    assert id_token["amr"] == ["pwd"] and id_token["acr"] == "1"


def test_acr_values_2_steps_up_and_tokens_say_mfa(
    client, web_client, totp_user, clock, app_secret, resource_server
):
    user, secret = totp_user
    # A session that used only the password (the factor was added after sign-in).
    client.force_login(user)
    session = client.session
    session[AUTH_STATE] = {"auth_time": int(clock.now) - 60, "amr": ["pwd"], "acr": "1", "sid": "s"}
    session.save()
    url, verifier = authorize_url(acr_values="2")
    first = client.get(url)
    final = follow_step_up(client, first, secret, clock)
    assert final.status_code == 302 and "code=" in final["Location"]
    token = redeem(client, final["Location"], verifier, app_secret)

    id_token = claims_of(token["id_token"])
    access = claims_of(token["access_token"])
    for claims in (id_token, access):
        assert claims["amr"] == ["pwd", "otp", "mfa"]
        assert claims["acr"] == "2"
        assert abs(claims["auth_time"] - clock.now) < 120
    rs, rs_secret = resource_server
    intro = client.post(
        "/o/introspect/",
        {"token": token["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs_secret),
    ).json()
    assert intro["active"] is True
    assert intro["amr"] == ["pwd", "otp", "mfa"] and intro["acr"] == "2"
    assert intro["auth_time"] == access["auth_time"]


def test_id_token_signature_and_acr_after_a_normal_mfa_login(
    client, web_client, totp_user, clock, app_secret
):
    _user, secret = totp_user
    url, verifier = authorize_url()
    to_login = client.get(url)
    assert to_login["Location"].startswith("/accounts/login/")
    next_url = query_of(to_login["Location"])["next"]
    first = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct horse battery staple", "next": next_url},
    )
    assert first["Location"] == "/mfa/authenticate/"
    second = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert second["Location"] == next_url
    final = client.get(second["Location"])
    token = redeem(client, final["Location"], verifier, app_secret)
    id_token = tokens.verify(token["id_token"], typ="JWT", audience="webapp")
    assert id_token["acr"] == "2" and "otp" in id_token["amr"]


def test_client_require_mfa_sends_a_user_without_factor_to_enrolment(
    client, make_client, password_user, clock
):
    make_client(
        client_id="strict",
        name="Strict",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        skip_consent=True,
        require_mfa=True,
    )
    login(client, "alice")
    url, _verifier = authorize_url("strict", scope="openid")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/totp/setup/?next=")
    setup = client.get(response["Location"])
    assert setup.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in setup.content.decode()


def test_essential_acr_claim_steps_up(client, web_client, totp_user, clock):
    user, _secret = totp_user
    client.force_login(user)
    session = client.session
    session[AUTH_STATE] = {"auth_time": int(clock.now), "amr": ["pwd"], "acr": "1", "sid": "s"}
    session.save()
    claims = '{"id_token": {"acr": {"essential": true, "values": ["2"]}}}'
    url, _verifier = authorize_url(claims=claims)
    response = client.get(url)
    assert response["Location"].startswith("/mfa/authenticate/?next=")


def test_role_required_mfa_steps_up_at_authorize(client, web_client, password_user, monkeypatch):
    """A role needs MFA and the user has no factor: enrolment at sign-in, before any code."""
    monkeypatch.setattr(policy, "_roles_hook", lambda: lambda user: True)
    url, _verifier = authorize_url()
    to_login = client.get(url)
    next_url = query_of(to_login["Location"])["next"]
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct horse battery staple", "next": next_url},
    )
    assert response["Location"] == "/mfa/totp/setup/"
    assert client.get(url)["Location"].startswith("/accounts/login/")  # not signed in yet


def test_prompt_none_with_mfa_missing_is_interaction_required(client, web_client, password_user):
    login(client, "alice")
    url, _verifier = authorize_url(acr_values="2", prompt="none")
    response = client.get(url)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT_URI)
    params = query_of(location)
    assert params["error"] == "interaction_required" and params["state"] == "st"
    assert "code" not in params


def test_consent_post_without_mfa_is_stepped_up_not_answered(client, make_client, totp_user, clock):
    make_client(
        client_id="consenting",
        name="Needs consent",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        require_mfa=True,
    )
    user, _secret = totp_user
    client.force_login(user)
    session = client.session
    session[AUTH_STATE] = {"auth_time": int(clock.now), "amr": ["pwd"], "acr": "1", "sid": "s"}
    session.save()
    response = client.post(
        "/o/authorize/",
        {
            "client_id": "consenting",
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "state": "st",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "allow": "Authorize",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/authenticate/?next=")


def test_max_age_forces_a_fresh_sign_in_with_the_second_factor(
    client, web_client, totp_user, clock, app_secret
):
    user, secret = totp_user
    client.force_login(user)
    session = client.session
    old = int(clock.now) - 3600
    session[AUTH_STATE] = {"auth_time": old, "amr": ["pwd", "otp", "mfa"], "acr": "2", "sid": "s"}
    session.save()
    url, verifier = authorize_url(max_age="60")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    next_url = query_of(response["Location"])["next"]
    assert "max_age" not in next_url and "client_id=webapp" in next_url
    first = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct horse battery staple", "next": next_url},
    )
    assert first["Location"] == "/mfa/authenticate/"  # the second factor again
    second = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    final = client.get(second["Location"])
    token = redeem(client, final["Location"], verifier, app_secret)
    assert claims_of(token["id_token"])["auth_time"] > old


def test_max_age_within_the_limit_does_not_ask_again(client, web_client, password_user):
    login(client, "alice")
    url, _verifier = authorize_url(max_age="10000")
    response = client.get(url)
    assert response["Location"].startswith(REDIRECT_URI) and "code=" in response["Location"]


def test_prompt_login_forces_a_fresh_login(client, web_client, password_user):
    login(client, "alice")
    url, _verifier = authorize_url(prompt="login")
    response = client.get(url)
    assert response["Location"].startswith("/accounts/login/")
    assert "prompt" not in query_of(response["Location"])["next"]


def test_discovery_lists_acr_values(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["acr_values_supported"] == ["1", "2"]
    assert "acr" in document["claims_supported"] and "amr" in document["claims_supported"]


def test_device_approval_needs_mfa_when_the_client_requires_it(
    client, make_client, totp_user, clock
):
    from oauth2_provider.models import get_device_grant_model

    device_client, _ = make_client(
        client_id="tv",
        name="TV",
        type="public",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        scopes=["openid"],
        require_mfa=True,
    )
    user, secret = totp_user
    get_device_grant_model().objects.create(
        client_id="tv",
        device_code="dc",
        user_code="UC1",
        scope="openid",
        interval=5,
        expires=timezone.now() + timedelta(minutes=5),
        user=user,
    )
    client.force_login(user)
    session = client.session
    session[AUTH_STATE] = {"auth_time": int(clock.now), "amr": ["pwd"], "acr": "1", "sid": "s"}
    session.save()
    path = "/o/device-confirm/tv/UC1"
    response = client.post(path, {"action": "accept"})
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/authenticate/?next=")
    grant = get_device_grant_model().objects.get(device_code="dc")
    assert grant.status == grant.AUTHORIZATION_PENDING
    page = follow_step_up(client, client.get(path), secret, clock)
    assert page.status_code == 200


def test_device_flow_tokens_carry_the_approvers_mfa(client, make_client, totp_user, clock):
    make_client(
        client_id="tv",
        name="TV",
        type="public",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        scopes=["openid"],
        require_mfa=True,
    )
    _user, secret = totp_user
    started = client.post(
        "/o/device-authorization/",
        urlencode({"client_id": "tv"}),  # with scope, DOT 3.4.1 + oauthlib 500 (see report)
        content_type="application/x-www-form-urlencoded",
    )
    assert started.status_code == 200, started.content
    device = started.json()
    assert login(client, "alice")["Location"] == "/mfa/authenticate/"
    client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    entered = client.post("/device", {"user_code": device["user_code"]})
    assert entered.status_code == 302
    approved = client.post(entered["Location"], {"action": "accept"})
    assert approved.status_code == 302
    polled = client.post(
        "/o/token/",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": "tv",
        },
    )
    assert polled.status_code == 200, polled.content
    access = claims_of(polled.json()["access_token"])
    assert access["acr"] == "2" and access["amr"] == ["pwd", "otp", "mfa"]


def test_device_approval_context_reaches_the_token_request(make_client, totp_user):
    """The part of the device flow that is ours: what approval saved is what the token
    request gets (password-only when nothing was saved)."""
    from oauth.device import attach_device_context, remember_device_approval

    tv, _ = make_client(
        client_id="tv",
        name="TV",
        type="public",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
    )
    user, _secret = totp_user
    state = {"auth_time": 1_800_000_000, "amr": ["pwd", "otp", "mfa"], "acr": "2", "sid": "x"}
    remember_device_approval("dc-1", user=user, client=tv, state=state)
    request = attach_device_context(token_request(user, tv, "dc-1"))
    assert request.auth_context.acr == "2" and request.auth_context.amr == state["amr"]
    other = attach_device_context(token_request(user, tv, "dc-2"))
    assert other.auth_context.acr == "1" and other.auth_context.amr == ["pwd"]


def refresh(browser, refresh_token: str, secret: str):
    return browser.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth("webapp", secret),
    )


def test_refresh_is_refused_once_mfa_is_required_for_a_password_only_family(
    client, web_client, password_user, app_secret
):
    login(client, "alice")
    url, verifier = authorize_url(scope="openid offline_access")
    token = redeem(client, client.get(url)["Location"], verifier, app_secret)
    password_user.mfa_required = True  # e.g. an admin role granted after the sign-in
    password_user.save()
    response = refresh(client, token["refresh_token"], app_secret)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_refresh_of_an_mfa_family_keeps_working_when_mfa_is_required(
    client, web_client, totp_user, clock, app_secret
):
    user, secret = totp_user
    url, verifier = authorize_url(scope="openid offline_access")
    next_url = query_of(client.get(url)["Location"])["next"]
    client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct horse battery staple", "next": next_url},
    )
    back = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    token = redeem(client, client.get(back["Location"])["Location"], verifier, app_secret)
    user.mfa_required = True
    user.save()
    response = refresh(client, token["refresh_token"], app_secret)
    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])["acr"] == "2"


def test_no_code_for_a_session_without_mfa_even_past_the_step_up(
    client, make_client, password_user, monkeypatch
):
    """Defence in depth: if the step-up were skipped, code issuance itself refuses."""
    from dataclasses import replace

    from oauth import extensions

    make_client(
        client_id="strict",
        name="Strict",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        skip_consent=True,
        require_mfa=True,
    )
    skipped = replace(extensions.second_factor(), step_up_url=lambda *a, **k: None)
    monkeypatch.setattr(extensions, "_second_factor", [skipped])
    login(client, "alice")
    url, _verifier = authorize_url("strict", scope="openid")
    response = client.get(url)
    params = query_of(response["Location"])
    assert params["error"] == "access_denied" and "code" not in params


def test_device_token_is_refused_when_the_approval_lacked_required_mfa(make_client, totp_user):
    from oauthlib.oauth2.rfc8628.errors import AccessDenied

    from oauth.device import attach_device_context, remember_device_approval

    tv, _ = make_client(
        client_id="tv2",
        name="TV",
        type="public",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        require_mfa=True,
    )
    user, _secret = totp_user
    remember_device_approval(
        "dc-pwd", user=user, client=tv, state={"auth_time": 1, "amr": ["pwd"], "acr": "1"}
    )
    with pytest.raises(AccessDenied):
        attach_device_context(token_request(user, tv, "dc-pwd"))
