"""Two-step sign-in: password, then a TOTP or recovery code; replay, drift, lockout."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.session import SESSION_KEY as AUTH_STATE
from audit.models import AuditEvent
from mfa import services, totp
from mfa.models import Authenticator
from tests.mfa.conftest import code_now, full_login, password_step

pytestmark = pytest.mark.django_db


def signed_in(browser) -> bool:
    return SESSION_KEY in browser.session


def test_password_alone_does_not_sign_in_a_user_with_a_factor(client, totp_user):
    response = password_step(client)
    assert response.status_code == 302
    assert response["Location"] == "/mfa/authenticate/"
    assert not signed_in(client)
    page = client.get("/mfa/authenticate/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in body
    assert "recovery code" in body


@pytest.mark.parametrize(
    "path",
    [
        "/o/authorize/?client_id=webapp&response_type=code&scope=openid",
        "/mfa/",
        "/mfa/recovery-codes/",
        "/device",
    ],
)
def test_pages_that_need_a_signed_in_user_are_closed_after_the_password_only(
    client, totp_user, web_client, path
):
    password_step(client)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_right_code_signs_in_with_mfa_amr_and_acr(client, totp_user, clock):
    _user, secret = totp_user
    password_step(client)
    pending_key = client.session.session_key
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert response.status_code == 302
    assert signed_in(client)
    assert client.session.session_key != pending_key  # rotated again at login
    state = client.session[AUTH_STATE]
    assert state["amr"] == ["pwd", "otp", "mfa"] and state["acr"] == "2"


def test_session_key_rotates_at_the_password_step(client, totp_user):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    password_step(client)
    assert client.session.session_key != before


def test_wrong_code_keeps_the_user_on_the_page_with_an_error(client, totp_user, clock):
    _user, secret = totp_user
    password_step(client)
    wrong = f"{(int(code_now(secret, clock)) + 1) % 1_000_000:06d}"
    response = client.post("/mfa/authenticate/", {"code": wrong})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.filter(event="mfa.verify", outcome="failure").count() == 1


@pytest.mark.parametrize("garbage", ["", "x" * 10_000, "' OR 1=1 --", "\x00", "١٢٣٤٥٦"])
def test_garbage_codes_are_a_wrong_code_not_an_error(client, totp_user, garbage):
    password_step(client)
    response = client.post("/mfa/authenticate/", {"code": garbage})
    assert response.status_code == 200
    assert not signed_in(client)


def test_a_code_is_accepted_once(client, totp_user, clock, django_user_model):
    _user, secret = totp_user
    assert full_login(client, secret, clock).status_code == 302
    client.logout()
    password_step(client)
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert response.status_code == 200 and not signed_in(client)
    assert "That code was already used" in response.content.decode()


def test_a_used_code_submitted_again_is_already_used_and_never_locks(
    client, totp_user, clock, settings
):
    """A second tab or a double submit of the code that just worked is not a guess: it is told
    the code was used, and however often it is sent the lockout count does not move."""
    settings.MFA_MAX_ATTEMPTS = 3
    _user, secret = totp_user
    assert full_login(client, secret, clock).status_code == 302
    client.logout()
    password_step(client)
    for _ in range(settings.MFA_MAX_ATTEMPTS + 2):
        again = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
        assert again.status_code == 200
        assert "That code was already used" in again.content.decode()
    reasons = AuditEvent.objects.filter(event="mfa.verify", outcome="failure")
    assert {r.data["reason"] for r in reasons} == {"used"}
    assert services.lockout_remaining(user=_user) == 0
    wrong = client.post("/mfa/authenticate/", {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()  # one failure counted, not six
    later = client.post("/mfa/authenticate/", {"code": code_now(secret, clock, 1)})
    assert later.status_code == 302 and signed_in(client)


def test_after_a_code_is_used_the_previous_step_is_refused_and_the_next_accepted(
    client, totp_user, clock
):
    _user, secret = totp_user
    assert full_login(client, secret, clock).status_code == 302
    client.logout()
    password_step(client)
    earlier = client.post("/mfa/authenticate/", {"code": code_now(secret, clock, -1)})
    assert earlier.status_code == 200 and not signed_in(client)
    later = client.post("/mfa/authenticate/", {"code": code_now(secret, clock, 1)})
    assert later.status_code == 302 and signed_in(client)


def test_two_parallel_submissions_of_one_code_give_one_success(totp_user, clock):
    """Both requests read the row before either writes; the conditional UPDATE lets one win."""
    user, secret = totp_user
    first = Authenticator.objects.get(user=user, type="totp")
    second = Authenticator.objects.get(user=user, type="totp")
    code = code_now(secret, clock)
    results = [services.totp_consume(first, code), services.totp_consume(second, code)]
    assert results == [services.CodeUse.ACCEPTED, services.CodeUse.USED]


def test_replay_state_is_in_the_database_not_the_cache(client, totp_user, clock):
    from django.core.cache import cache

    _user, secret = totp_user
    full_login(client, secret, clock)
    client.logout()
    cache.clear()  # a Redis flush or restart
    password_step(client)
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert response.status_code == 200 and not signed_in(client)


@pytest.mark.parametrize("steps", [-1, 1])
def test_clock_drift_of_one_step_is_tolerated(client, totp_user, clock, steps):
    _user, secret = totp_user
    password_step(client)
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock, steps)})
    assert response.status_code == 302 and signed_in(client)


@pytest.mark.parametrize("steps", [-2, 2])
def test_clock_drift_of_two_steps_is_refused(client, totp_user, clock, steps):
    _user, secret = totp_user
    password_step(client)
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock, steps)})
    assert response.status_code == 200 and not signed_in(client)


def test_a_recovery_code_works_once(client, totp_user):
    user, _secret = totp_user
    codes = services.recovery_codes_generate(user=user)
    password_step(client)
    response = client.post("/mfa/authenticate/", {"code": codes[0].upper()})
    assert response.status_code == 302 and signed_in(client)
    client.logout()
    password_step(client)
    again = client.post("/mfa/authenticate/", {"code": codes[0]})
    assert again.status_code == 200 and not signed_in(client)
    assert "That recovery code was already used" in again.content.decode()
    other = client.post("/mfa/authenticate/", {"code": codes[1]})
    assert other.status_code == 302 and signed_in(client)
    stored = Authenticator.objects.get(user=user, type="recovery_codes")
    assert len(stored.data["hashes"]) == 8
    assert not any(c.replace("-", "") in str(stored.data) for c in codes)


def test_a_used_recovery_code_submitted_again_never_locks(client, totp_user, settings):
    settings.MFA_MAX_ATTEMPTS = 3
    user, _secret = totp_user
    codes = services.recovery_codes_generate(user=user)
    password_step(client)
    assert client.post("/mfa/authenticate/", {"code": codes[0]}).status_code == 302
    client.logout()
    password_step(client)
    for _ in range(settings.MFA_MAX_ATTEMPTS + 2):
        again = client.post("/mfa/authenticate/", {"code": codes[0]})
        assert again.status_code == 200
        assert "That recovery code was already used" in again.content.decode()
    assert services.lockout_remaining(user=user) == 0
    other = client.post("/mfa/authenticate/", {"code": codes[1]})
    assert other.status_code == 302 and signed_in(client)


def test_lockout_after_max_attempts_then_expiry(client, totp_user, clock, settings):
    settings.MFA_MAX_ATTEMPTS = 5
    settings.MFA_LOCKOUT_SECONDS = 30
    _user, secret = totp_user
    password_step(client)
    for _ in range(4):
        assert client.post("/mfa/authenticate/", {"code": "000000"}).status_code == 200
    locked = client.post("/mfa/authenticate/", {"code": "000000"})
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.content.decode()
    # While locked even the right code is refused (no oracle for guesses).
    refused = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert refused.status_code == 429 and not signed_in(client)
    assert AuditEvent.objects.filter(event="mfa.locked").count() == 1
    assert AuditEvent.objects.filter(event="mfa.verify", outcome="denied").count() == 1
    clock.advance(31)
    password_step(client)  # the pending state lives MFA_PENDING_SECONDS
    ok = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert ok.status_code == 302 and signed_in(client)


def test_the_lock_grows_with_each_lockout_and_resets_on_success(totp_user, clock, settings):
    settings.MFA_MAX_ATTEMPTS = 2
    settings.MFA_LOCKOUT_SECONDS = 30
    user, _secret = totp_user
    lengths = []
    for _ in range(3):
        services.lockout_record_failure(user=user)
        lengths.append(services.lockout_record_failure(user=user).locked_seconds)
    assert lengths == [30, 60, 120]
    services.lockout_reset(user=user)
    assert services.lockout_remaining(user=user) == 0


def test_lockout_counts_per_account_whatever_the_ip(client, totp_user, settings):
    settings.MFA_MAX_ATTEMPTS = 3
    password_step(client)
    for n in range(3):
        client.post("/mfa/authenticate/", {"code": "000000"}, REMOTE_ADDR=f"10.0.0.{n}")
    response = client.post("/mfa/authenticate/", {"code": "000000"}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429


def test_pending_sign_in_expires(client, totp_user, clock, settings):
    _user, secret = totp_user
    password_step(client)
    clock.advance(settings.MFA_PENDING_SECONDS + 1)
    response = client.post("/mfa/authenticate/", {"code": code_now(secret, clock)})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)


def test_one_users_pending_session_cannot_be_finished_with_another_users_code(
    client, make_user, totp_user, clock
):
    bob = make_user("bob")
    bob_secret = services.authenticator_totp_provision(user=bob)
    assert bob_secret != totp_user[1]
    password_step(client, "alice")
    response = client.post("/mfa/authenticate/", {"code": code_now(bob_secret, clock)})
    assert response.status_code == 200 and not signed_in(client)


def test_next_is_followed_after_the_second_step_but_not_offsite(client, totp_user, clock):
    _user, secret = totp_user
    page = client.get("/accounts/login/?next=/mfa/")
    assert page.status_code == 200
    client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct horse battery staple", "next": "/mfa/"},
    )
    response = client.post(
        "/mfa/authenticate/", {"code": code_now(secret, clock), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/mfa/"


def test_secret_is_encrypted_at_rest(totp_user):
    user, secret = totp_user
    stored = Authenticator.objects.get(user=user, type="totp")
    assert secret not in str(stored.data)
    assert totp.code_at(services.totp_secret(stored), 0) == totp.code_at(secret, 0)
