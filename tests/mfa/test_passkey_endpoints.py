"""Passkey JSON endpoints: who may call them, bad input, several named credentials."""

from __future__ import annotations

import json

import pytest

from core import clock as core_clock
from mfa import services
from mfa.models import Authenticator
from tests.mfa.conftest import password_step

pytestmark = pytest.mark.django_db

BEGIN_REGISTER = "/mfa/passkeys/register/begin/"
FINISH_REGISTER = "/mfa/passkeys/register/finish/"
BEGIN_AUTH = "/mfa/passkeys/authenticate/begin/"
FINISH_AUTH = "/mfa/passkeys/authenticate/finish/"


def post_json(browser, url: str, body) -> object:
    return browser.post(url, json.dumps(body), content_type="application/json")


def test_nobody_signed_in_gets_403(client):
    for url in (BEGIN_REGISTER, FINISH_REGISTER, BEGIN_AUTH, FINISH_AUTH):
        assert client.post(url).status_code == 403


def test_registration_options_name_our_relying_party_and_exclude_known_keys(
    client, make_user, settings
):
    settings.ISSUER_URL = "https://id.example.com"
    user = make_user("alice")
    services.authenticator_passkey_add(
        user=user,
        name="Laptop",
        data={"credential_id": "AAEC", "public_key": "AA", "sign_count": 0},
    )
    services.authenticator_passkey_add(
        user=user,
        name="Phone",
        data={"credential_id": "AwQF", "public_key": "AA", "sign_count": 0},
    )
    client.force_login(user)
    session = client.session
    session["authserver.auth"] = {
        "auth_time": int(core_clock.now()),
        "amr": ["pwd", "hwk", "mfa"],
        "acr": "2",
        "sid": "s",
    }
    session.save()
    options = client.post(BEGIN_REGISTER).json()
    assert options["rp"]["id"] == "id.example.com"
    assert {c["id"] for c in options["excludeCredentials"]} == {"AAEC", "AwQF"}
    assert options["user"]["name"] == "alice" and options["user"]["id"] != "alice"
    names = set(
        Authenticator.objects.filter(user=user, type="webauthn").values_list("name", flat=True)
    )
    assert names == {"Laptop", "Phone"}


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"credential": "x"}', b'{"credential": {}}', b"{" * 10],
)
def test_garbage_answers_are_400_never_500(client, make_user, body):
    user = make_user("alice")
    services.authenticator_passkey_add(
        user=user, name="Key", data={"credential_id": "AAEC", "public_key": "AA", "sign_count": 0}
    )
    password_step(client)  # pending second step
    client.post(BEGIN_AUTH)
    response = client.post(FINISH_AUTH, body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_an_assertion_without_a_challenge_is_refused(client, make_user):
    user = make_user("alice")
    services.authenticator_passkey_add(
        user=user, name="Key", data={"credential_id": "AAEC", "public_key": "AA", "sign_count": 0}
    )
    password_step(client)
    response = post_json(client, FINISH_AUTH, {"credential": {"id": "AAEC"}})
    assert response.status_code == 400


def test_registration_needs_a_fresh_sign_in(client, totp_user, clock, settings):
    user, _secret = totp_user
    client.force_login(user)  # no sign-in context at all: not fresh
    assert client.post(BEGIN_REGISTER).status_code == 403
