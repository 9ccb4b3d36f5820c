"""Authorization code + PKCE (RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core §3.1)."""

from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings

from tests.conftest import (
    REDIRECT_URI,
    authorize_params,
    basic_auth,
    introspect,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db


def test_code_flow_issues_tokens_and_a_valid_id_token(code_flow, client):
    verifier, challenge = pkce_pair()
    response = code_flow.authorize(challenge)
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI)
    assert params["state"] == "st-123"
    assert params["iss"] == settings.ISSUER_URL  # RFC 9207

    token_response = code_flow.exchange(params["code"], verifier)
    assert token_response.status_code == 200
    assert token_response["Cache-Control"] == "no-store"
    body = token_response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert {"access_token", "refresh_token", "id_token"} <= body.keys()

    jwks = jwt.PyJWKSet.from_dict(client.get("/o/jwks/").json())
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256"
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        body["id_token"], key, algorithms=["RS256"], audience="webapp", issuer=settings.ISSUER_URL
    )
    assert claims["nonce"] == "n-456"
    assert claims["sub"] == str(code_flow.browser.user.pk)
    assert claims["email"] == "alice@example.com"
    assert claims["amr"] == ["pwd"] and claims["acr"] == "1"
    assert {"auth_time", "sid", "at_hash", "exp", "iat"} <= claims.keys()
    # at_hash (OIDC Core §3.1.3.6): left half of SHA-256 of the access token, base64url
    import base64
    import hashlib

    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_access_token_is_an_rfc9068_jwt(code_flow, client):
    body = code_flow.tokens()
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    jwks = jwt.PyJWKSet.from_dict(client.get("/o/jwks/").json())
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        body["access_token"],
        key,
        algorithms=["ES256"],
        audience=settings.ISSUER_URL,
        issuer=settings.ISSUER_URL,
    )
    assert claims["client_id"] == "webapp"
    assert claims["scope"] == "openid profile email offline_access"
    assert claims["sub"] == str(code_flow.browser.user.pk)
    assert {"jti", "iat", "exp", "auth_time"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 600


def test_missing_pkce_is_rejected(code_flow):
    response = code_flow.authorize(None)
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_plain_pkce_is_rejected(code_flow):
    response = code_flow.authorize("x" * 43, code_challenge_method="plain")
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_wrong_or_missing_verifier_is_rejected(code_flow):
    code, _verifier = code_flow.code()
    wrong = code_flow.exchange(code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code, _verifier = code_flow.code()
    missing = code_flow.exchange(code, None)
    assert missing.status_code == 400 and missing.json()["error"] in {
        "invalid_grant",
        "invalid_request",
    }


def test_rfc7636_appendix_b_vector(code_flow):
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    response = code_flow.authorize(challenge)
    code = query_of(response["Location"])["code"]
    assert code_flow.exchange(code, verifier).status_code == 200


def test_unregistered_redirect_uri_is_not_redirected_to(code_flow):
    _v, challenge = pkce_pair()
    response = code_flow.authorize(challenge, redirect_uri="https://evil.example/cb")
    assert response.status_code == 400
    assert "Location" not in response
    from oauth2_provider.models import Grant

    assert not Grant.objects.exists()  # no code was minted for the unregistered URI


def test_redirect_uri_must_match_exactly(code_flow):
    _v, challenge = pkce_pair()
    for uri in (REDIRECT_URI + "/", REDIRECT_URI + "?x=1", REDIRECT_URI.upper()):
        response = code_flow.authorize(challenge, redirect_uri=uri)
        assert response.status_code == 400, uri
        assert "Location" not in response


def test_implicit_response_type_is_refused(code_flow):
    _v, challenge = pkce_pair()
    response = code_flow.authorize(challenge, response_type="token")
    assert response.status_code in (302, 400)
    location = response.get("Location", "")
    assert "access_token" not in location
    if location:
        assert query_of(location)["error"] in {"unsupported_response_type", "unauthorized_client"}


def test_unknown_scope_redirects_with_invalid_scope(code_flow):
    _v, challenge = pkce_pair()
    response = code_flow.authorize(challenge, scope="openid bogus")
    params = query_of(response["Location"])
    assert params["error"] == "invalid_scope" and params["state"] == "st-123"


def test_code_replay_fails_and_revokes_what_the_code_issued(code_flow, client, resource_server):
    code, verifier = code_flow.code()
    first = code_flow.exchange(code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert introspect(client, resource_server, tokens["access_token"])["active"] is True

    replay = code_flow.exchange(code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    refresh = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth("webapp", code_flow.secret),
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(code_flow, make_client):
    other, other_secret = make_client(
        client_id="other",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
    )
    code, verifier = code_flow.code()
    response = code_flow.browser.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth("other", other_secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_no_refresh_token_without_offline_access(code_flow):
    body = code_flow.tokens(scope="openid profile")
    assert "refresh_token" not in body and "id_token" in body


def test_prompt_none_without_a_session_returns_login_required(client, web_client):
    _v, challenge = pkce_pair()
    from tests.conftest import authorize_params

    response = client.get("/o/authorize/", authorize_params("webapp", challenge, prompt="none"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "login_required"


def test_unauthenticated_user_is_sent_to_login(client, web_client):
    _v, challenge = pkce_pair()
    from tests.conftest import authorize_params

    response = client.get("/o/authorize/", authorize_params("webapp", challenge))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_max_age_forces_a_fresh_login(code_flow):
    from accounts.session import SESSION_KEY

    session = code_flow.browser.session
    state = session[SESSION_KEY]
    state["auth_time"] -= 120
    session[SESSION_KEY] = state
    session.save()
    _v, challenge = pkce_pair()
    stale = code_flow.authorize(challenge, max_age="60")
    assert stale.status_code == 302 and "/accounts/login/" in stale["Location"]
    fresh = code_flow.authorize(challenge, max_age="3600")
    assert fresh.status_code == 302 and fresh["Location"].startswith(REDIRECT_URI)


def test_prompt_login_forces_a_fresh_login(code_flow):
    _v, challenge = pkce_pair()
    response = code_flow.authorize(challenge, prompt="login")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_login_hint_prefills_the_username(client, web_client):
    _v, challenge = pkce_pair()
    from tests.conftest import authorize_params

    response = client.get(
        "/o/authorize/", authorize_params("webapp", challenge, login_hint="bob"), follow=True
    )
    assert b'value="bob"' in response.content


def test_consent_page_when_the_client_does_not_skip_it(signed_in, make_client):
    make_client(
        client_id="thirdparty",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "email"],
    )
    verifier, challenge = pkce_pair()
    from tests.conftest import authorize_params

    params = authorize_params("thirdparty", challenge, scope="openid email")
    page = signed_in.get("/o/authorize/", params)
    assert page.status_code == 200 and b"Allow" in page.content
    form = {**params, "scope": "openid email", "allow": "Authorize"}
    approved = signed_in.post(
        "/o/authorize/?" + __import__("urllib.parse").parse.urlencode(params), form
    )
    assert approved.status_code == 302 and "code=" in approved["Location"]
    denied = signed_in.post(
        "/o/authorize/?" + __import__("urllib.parse").parse.urlencode(params),
        {k: v for k, v in form.items() if k != "allow"},
    )
    assert query_of(denied["Location"])["error"] == "access_denied"


def test_es256_id_tokens_for_clients_that_ask(signed_in, make_client, client):
    _c, secret = make_client(
        client_id="es",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
        skip_consent=True,
        id_token_signed_response_alg="ES256",
    )
    verifier, challenge = pkce_pair()
    from tests.conftest import authorize_params

    code = query_of(
        signed_in.get("/o/authorize/", authorize_params("es", challenge, scope="openid"))[
            "Location"
        ]
    )["code"]
    body = client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth("es", secret),
    ).json()
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"


@pytest.mark.parametrize("name", ["nonce", "code_challenge", "prompt", "login_hint"])
def test_a_repeated_authorization_parameter_is_invalid_request(code_flow, name):
    """RFC 6749 §3.1: redirected back to the client (oauthlib answered only for the five
    parameters it checks itself, on its error page)."""
    _v, challenge = pkce_pair()
    params = authorize_params("webapp", challenge, **{name: "one"})
    query = urlencode(params) + f"&{name}=two"
    response = code_flow.browser.get("/o/authorize/?" + query)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    answer = query_of(response["Location"])
    assert answer["error"] == "invalid_request" and answer["state"] == "st-123"
    assert name in answer["error_description"] and "code" not in answer


@pytest.mark.parametrize("name", ["code", "code_verifier", "redirect_uri", "grant_type"])
def test_a_repeated_token_parameter_is_invalid_request(code_flow, name):
    """RFC 6749 §3.2: in the body, or once in the body and once in the query string."""
    code, verifier = code_flow.code()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    auth = basic_auth(code_flow.client_obj.client_id, code_flow.secret)
    twice = urlencode(data) + f"&{name}={data[name]}"
    response = code_flow.browser.post(
        "/o/token/", twice, "application/x-www-form-urlencoded", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Repeated parameter: {name}.",
    }
    in_query = code_flow.browser.post(
        f"/o/token/?{urlencode({name: data[name]})}", data, HTTP_AUTHORIZATION=auth
    )
    assert in_query.status_code == 400 and in_query.json()["error"] == "invalid_request"
    assert code_flow.exchange(code, verifier).status_code == 200  # the code was not spent


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "openid bogus"}, "invalid_scope"),
        ({"response_type": "foo"}, "unsupported_response_type"),
        ({"response_type": "code token"}, "unauthorized_client"),
        ({"resource": "not-an-absolute-uri"}, "invalid_target"),
        ({"prompt": "none consent"}, "invalid_request"),
    ],
)
def test_every_error_redirect_carries_iss(code_flow, extra, error):
    """RFC 9207 §2: error responses too, so a client can tell which server answered."""
    verifier, challenge = pkce_pair()
    params = {**authorize_params("webapp", challenge), **extra}
    response = code_flow.browser.get(
        "/o/authorize/", {k: v for k, v in params.items() if v is not None}
    )
    assert response.status_code == 302, response.content
    answer = query_of(response["Location"])
    assert answer["error"] == error
    assert answer["iss"] == settings.ISSUER_URL and answer["state"] == "st-123"
    assert response["Location"].count("iss=") == 1


def test_login_required_and_access_denied_carry_iss(signed_in, web_client, make_client):
    from django.test import Client

    _v, challenge = pkce_pair()
    make_client(
        client_id="thirdparty",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid"],
    )
    params = authorize_params("thirdparty", challenge, scope="openid")
    denied = signed_in.post("/o/authorize/?" + urlencode(params), {**params, "scope": "openid"})
    assert query_of(denied["Location"])["error"] == "access_denied"
    assert query_of(denied["Location"])["iss"] == settings.ISSUER_URL
    silent = signed_in.get("/o/authorize/", {**params, "prompt": "none"})
    assert query_of(silent["Location"])["error"] == "consent_required"
    assert query_of(silent["Location"])["iss"] == settings.ISSUER_URL
    webapp = authorize_params("webapp", challenge, prompt="none")
    anonymous = Client().get("/o/authorize/", webapp)
    assert query_of(anonymous["Location"])["error"] == "login_required"
    assert query_of(anonymous["Location"])["iss"] == settings.ISSUER_URL


def test_a_successful_redirect_carries_one_iss(code_flow):
    _v, challenge = pkce_pair()
    location = code_flow.authorize(challenge)["Location"]
    assert "code" in query_of(location) and location.count("iss=") == 1


def test_codes_are_stored_as_keyed_hashes(code_flow, client, resource_server):
    """The Grant row holds the code's keyed hash: a copy of the table redeems nothing, and the
    code still works once (and revokes what it issued when replayed)."""
    from oauth2_provider.models import Grant

    from core.crypto import keyed_hash

    code, verifier = code_flow.code()
    stored = Grant.objects.get().code
    assert stored != code and code not in stored
    assert stored == keyed_hash(code, "authorization-code")
    assert code_flow.exchange(stored, verifier).json()["error"] == "invalid_grant"
    tokens = code_flow.exchange(code, verifier)
    assert tokens.status_code == 200 and "id_token" in tokens.json()
    assert not Grant.objects.exists()
    replay = code_flow.exchange(code, verifier)
    assert replay.json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, tokens.json()["access_token"]) == {"active": False}
