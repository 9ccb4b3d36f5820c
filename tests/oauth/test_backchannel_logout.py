"""OpenID Connect Back-Channel Logout 1.0: a client that registered a ``backchannel_logout_uri``
receives a signed logout token when a session it was signed into ends here (sign-out, an ended
app session, a disabled user). The client is a real HTTPS server on loopback."""

from __future__ import annotations

from urllib.parse import parse_qs

import jwt
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from core.actors import SystemActor
from oauth import services as oauth_services
from oauth.models import LogoutNotice
from tests.conftest import REDIRECT_URI, code_grant
from tests.oauth.client_auth.test_jwks_uri import LOOPBACK, running_host, tls_files  # noqa: F401

pytestmark = pytest.mark.django_db

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def rp(running_host, settings, tls_files):  # noqa: F811 (fixtures imported above)
    """The client's back-channel endpoint, reachable for this test."""
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK
    settings.OUTBOUND_CA_BUNDLE = str(tls_files[0])
    running_host.posts.clear()
    return running_host


@pytest.fixture
def notified_client(rp, make_client):
    def make(path: str = "/logout", **spec):
        return make_client(
            client_id="webapp",
            grant_types=["authorization_code", "refresh_token"],
            redirect_uris=[REDIRECT_URI],
            scopes=["openid", "offline_access"],
            skip_consent=True,
            backchannel_logout_uri=rp.url(path),
            **spec,
        )

    return make


def sign_in_to(browser, client, secret) -> dict:
    return code_grant(browser, client, secret, scope="openid offline_access")


def received_tokens(rp, http) -> list[dict]:
    """The logout tokens the client received, each verified against our JWKS."""
    jwks = jwt.PyJWKSet.from_dict(http.get("/o/jwks/").json())
    claims = []
    for path, content_type, body in rp.posts:
        assert (path, content_type) == ("/logout", "application/x-www-form-urlencoded")
        (token,) = parse_qs(body)["logout_token"]
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "logout+jwt"
        key = next(k for k in jwks.keys if k.key_id == header["kid"])
        claims.append(
            jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                audience="webapp",
                issuer=settings.ISSUER_URL,
            )
        )
    return claims


def test_signing_out_sends_the_client_a_logout_token_for_the_session(
    signed_in, notified_client, rp, django_capture_on_commit_callbacks
):
    client, secret = notified_client()
    tokens = sign_in_to(signed_in, client, secret)
    sid = jwt.decode(tokens["id_token"], options={"verify_signature": False})["sid"]

    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in.post("/accounts/logout/").status_code in (200, 302)

    (claims,) = received_tokens(rp, signed_in)
    assert claims["sub"] == str(signed_in.user.pk) and claims["sid"] == sid
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims
    assert claims["exp"] - claims["iat"] == 120 and claims["jti"]
    notice = LogoutNotice.objects.get()
    assert notice.delivered_at is not None and notice.attempts == 1


def test_an_ended_app_session_and_a_disabled_user_notify_the_client(
    signed_in, notified_client, rp, django_capture_on_commit_callbacks
):
    from oauth2_provider.models import get_refresh_token_model

    client, secret = notified_client()
    sign_in_to(signed_in, client, secret)
    family = get_refresh_token_model().objects.get().token_family
    with django_capture_on_commit_callbacks(execute=True):
        oauth_services.session_revoke(actor=SystemActor("test"), user=signed_in.user, family=family)
    assert len(received_tokens(rp, signed_in)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        oauth_services.user_set_active(actor=SystemActor("test"), user=signed_in.user, active=False)
    assert [c["sub"] for c in received_tokens(rp, signed_in)] == [str(signed_in.user.pk)] * 2


def test_a_failing_endpoint_leaves_the_notice_failed_with_its_error(
    signed_in, notified_client, rp, django_capture_on_commit_callbacks
):
    client, secret = notified_client("/fail")
    sign_in_to(signed_in, client, secret)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/accounts/logout/")
    assert [path for path, _, _ in rp.posts] == ["/fail"]
    notice = LogoutNotice.objects.get()
    assert notice.delivered_at is None and notice.failed_at is not None
    assert notice.last_error == "HTTP 500" and notice.attempts == 1


def test_a_client_without_a_back_channel_uri_is_not_notified(
    signed_in, web_client, rp, django_capture_on_commit_callbacks
):
    client, secret = web_client
    sign_in_to(signed_in, client, secret)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/accounts/logout/")
    assert rp.posts == [] and not LogoutNotice.objects.exists()


def test_the_uri_must_be_one_the_server_may_reach(make_client):
    with pytest.raises(ValidationError) as refused:
        make_client(
            client_id="internal",
            grant_types=["authorization_code"],
            redirect_uris=[REDIRECT_URI],
            backchannel_logout_uri="https://127.0.0.1/logout",
        )
    assert "backchannel_logout_uri" in refused.value.message_dict


def test_discovery_says_back_channel_logout_is_supported(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


def test_the_task_retries_with_backoff_then_gives_up(notified_client, signed_in, monkeypatch):
    from oauth import tasks

    client, secret = notified_client("/fail")
    notice = LogoutNotice.objects.create(client=client, sub="1", sid="s")
    asked = []

    class Retry(Exception):
        pass

    def retry(exc, countdown):
        asked.append(countdown)
        return Retry()

    monkeypatch.setattr(tasks.deliver_logout_task, "retry", retry)
    for attempt in range(tasks.LOGOUT_RETRIES):
        tasks.deliver_logout_task.push_request(retries=attempt, is_eager=False)
        try:
            with pytest.raises(Retry):
                tasks.deliver_logout_task.run(notice.pk)
        finally:
            tasks.deliver_logout_task.pop_request()
    assert asked == [5, 10, 20, 40, 80]
    tasks.deliver_logout_task.push_request(retries=tasks.LOGOUT_RETRIES, is_eager=False)
    try:
        assert tasks.deliver_logout_task.run(notice.pk) is False
    finally:
        tasks.deliver_logout_task.pop_request()
    notice.refresh_from_db()
    assert notice.attempts == tasks.LOGOUT_RETRIES + 1 and notice.failed_at is not None
