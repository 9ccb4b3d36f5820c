"""Enrolling TOTP (QR + secret, confirmed by a code), recovery codes shown once, removal."""

from __future__ import annotations

import base64
import re

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.session import SESSION_KEY as AUTH_STATE
from audit.models import AuditEvent
from mfa import totp
from mfa.models import Authenticator
from tests.conftest import PASSWORD, login
from tests.mfa.conftest import code_now, full_login

pytestmark = pytest.mark.django_db


def secret_on(page) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7]+)<', page.content.decode()).group(1)


def test_setup_page_shows_qr_code_and_secret_and_is_not_active_until_confirmed(
    client, make_user, clock
):
    user = make_user("alice")
    login(client, "alice")
    page = client.get("/mfa/totp/setup/")
    body = page.content.decode()
    assert page.status_code == 200
    secret = secret_on(page)
    assert len(base64.b32decode(secret)) >= 20  # ≥160 bits
    qr = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', body).group(1)
    assert base64.b64decode(qr).startswith(b"<svg")
    assert 'autocomplete="one-time-code"' in body
    assert not Authenticator.objects.filter(user=user).exists()
    # Reloading keeps the same secret until it is confirmed.
    assert secret_on(client.get("/mfa/totp/setup/")) == secret
    assert secret not in str(dict(client.session))  # kept encrypted in the session


def test_a_wrong_confirmation_code_keeps_the_setup_page_with_an_error(client, make_user, clock):
    make_user("alice")
    login(client, "alice")
    client.get("/mfa/totp/setup/")
    response = client.post("/mfa/totp/setup/", {"code": "123456"})
    assert response.status_code == 200
    assert "That code does not match" in response.content.decode()
    assert not Authenticator.objects.exists()
    assert AuditEvent.objects.filter(event="mfa.enrol", outcome="failure").exists()


def test_confirming_activates_shows_recovery_codes_once_and_challenges_next_login(
    client, make_user, clock
):
    user = make_user("alice")
    login(client, "alice")
    secret = secret_on(client.get("/mfa/totp/setup/"))
    response = client.post("/mfa/totp/setup/", {"code": code_now(secret, clock)})
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/recovery-codes/")
    assert client.session[AUTH_STATE]["acr"] == "2"

    shown = client.get(response["Location"])
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.content.decode())
    assert len(codes) == 10
    assert shown["Cache-Control"] == "no-store"
    again = client.get("/mfa/recovery-codes/").content.decode()
    assert codes[0] not in again and "10 unused recovery codes" in again

    assert AuditEvent.objects.filter(event="mfa.enrol", outcome="success").exists()
    assert Authenticator.objects.filter(user=user, type="totp").count() == 1
    client.logout()
    clock.advance(totp.PERIOD)
    assert full_login(client, secret, clock).status_code == 302


def test_mfa_required_user_without_factor_enrols_before_being_signed_in(
    client, make_user, clock, settings
):
    settings.MFA_REQUIRED = True
    make_user("alice")
    response = login(client, "alice")
    assert response["Location"] == "/mfa/totp/setup/"
    assert SESSION_KEY not in client.session
    page = client.get("/mfa/totp/setup/")
    assert "needs a second sign-in step" in page.content.decode()
    secret = secret_on(page)
    done = client.post("/mfa/totp/setup/", {"code": code_now(secret, clock)})
    assert done.status_code == 302
    assert SESSION_KEY in client.session
    assert client.session[AUTH_STATE]["amr"] == ["pwd", "otp", "mfa"]


def test_user_flag_mfa_required_works_like_the_global_setting(client, make_user):
    make_user("alice", mfa_required=True)
    assert login(client, "alice")["Location"] == "/mfa/totp/setup/"


def test_removing_a_factor_needs_a_fresh_sign_in_with_mfa(client, totp_user, clock, settings):
    user, secret = totp_user
    full_login(client, secret, clock)
    factor = Authenticator.objects.get(user=user, type="totp")
    clock.advance(settings.MFA_REAUTH_SECONDS + 60)  # auth_time is real time
    stale = client.post("/mfa/", {"remove": factor.pk})
    assert stale["Location"].startswith("/accounts/login/")
    assert Authenticator.objects.filter(pk=factor.pk).exists()

    client.logout()
    clock.advance(-settings.MFA_REAUTH_SECONDS - 60)  # back to real time: a fresh sign-in
    clock.advance(totp.PERIOD)
    full_login(client, secret, clock)
    removed = client.post("/mfa/", {"remove": factor.pk})
    assert removed["Location"] == "/mfa/"
    assert not Authenticator.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(event="mfa.remove").exists()


def test_a_user_cannot_remove_another_users_factor(client, make_user, totp_user, clock):
    alice, _ = totp_user
    make_user("bob")
    login(client, "bob", PASSWORD)
    factor = Authenticator.objects.get(user=alice, type="totp")
    response = client.post("/mfa/", {"remove": factor.pk})
    assert response.status_code == 404
    assert Authenticator.objects.filter(pk=factor.pk).exists()


def test_regenerating_recovery_codes_invalidates_the_old_set(client, totp_user, clock):
    from mfa import services

    user, secret = totp_user
    old = services.recovery_codes_generate(user=user)
    full_login(client, secret, clock)
    response = client.post("/mfa/recovery-codes/")
    assert response["Location"] == "/mfa/recovery-codes/"
    new = re.findall(
        r"<li><code>([a-z0-9-]+)</code></li>", client.get("/mfa/recovery-codes/").content.decode()
    )
    assert len(new) == 10 and not set(new) & set(old)
    assert services.recovery_code_consume(user=user, code=old[0]) is services.CodeUse.WRONG
    assert services.recovery_code_consume(user=user, code=new[0]) is services.CodeUse.ACCEPTED


def test_manage_page_lists_factors(client, totp_user, clock):
    _user, secret = totp_user
    full_login(client, secret, clock)
    page = client.get("/mfa/").content.decode()
    assert "Authenticator app" in page and "Add a passkey" in page


def test_a_user_who_must_use_mfa_cannot_remove_the_last_factor(client, totp_user, clock):
    user, secret = totp_user
    user.mfa_required = True
    user.save()
    full_login(client, secret, clock)
    factor = Authenticator.objects.get(user=user, type="totp")
    response = client.post("/mfa/", {"remove": factor.pk})
    assert response.status_code == 409
    assert "add another before removing" in response.content.decode()
    assert Authenticator.objects.filter(pk=factor.pk).exists()
