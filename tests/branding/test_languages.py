"""The page language: OIDC ``ui_locales`` on the authorization request (kept in the session),
else ``Accept-Language``, else English; the German catalogue is complete and compiled."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings

from tests.conftest import PASSWORD, REDIRECT_URI, login, pkce_pair, query_of

CATALOGUE = Path(django_settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES"


def authorize(client, accept_language: str = "", **extra: str):
    _, challenge = pkce_pair()
    query = {
        "client_id": "webapp",
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    return client.get(f"/o/authorize/?{urlencode(query)}", **headers)


@pytest.mark.django_db
def test_ui_locales_de_gives_german_pages_for_the_rest_of_the_sign_in(client, web_client):
    started = authorize(client, ui_locales="fr-CA de-AT en")
    assert started.status_code == 302 and "/accounts/login/" in started["Location"]
    page = client.get(started["Location"])
    assert page["Content-Language"] == "de"
    text = page.content.decode()
    assert '<html lang="de">' in text
    assert "<h1>Bei authserver anmelden</h1>" in text
    assert '<label for="id_username">Benutzername</label>' in text
    assert '<a class="skip-link" href="#main">Zum Inhalt springen</a>' in text
    # kept in the session: a later page without ui_locales, whatever the browser prefers
    again = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<button type="submit">Anmelden</button>' in again.content.decode()


@pytest.mark.django_db
def test_a_wrong_password_is_explained_in_german(client, web_client, make_user):
    make_user("alice")
    authorize(client, ui_locales="de")
    failed = login(client, "alice", "not the password")
    assert "Benutzername oder Passwort stimmen nicht" in failed.content.decode()


@pytest.mark.django_db
def test_ui_locales_this_server_does_not_speak_leave_accept_language(client, web_client):
    authorize(client, ui_locales="fr ja")
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert page["Content-Language"] == "en"
    assert "<h1>Sign in to authserver</h1>" in page.content.decode()


@pytest.mark.django_db
def test_ui_locales_elsewhere_is_ignored(client):
    page = client.get("/accounts/login/?ui_locales=de")
    assert page["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["de", "de-DE,de;q=0.9,en;q=0.5", "fr;q=0.9, de;q=0.8"])
def test_accept_language_de_gives_german(client, header):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=header)
    assert page["Content-Language"] == "de"
    assert "Accept-Language" in page["Vary"]
    assert "<title>Anmelden · authserver</title>" in page.content.decode()


@pytest.mark.django_db
def test_the_404_page_speaks_german_too(client):
    page = client.get("/no/such/page", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 404
    assert "<h1>Seite nicht gefunden</h1>" in page.content.decode()


@pytest.fixture
def consenting_app(make_client):
    """A client whose users see the consent page."""
    return make_client(
        client_id="webapp",
        name="Web App",
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "email"],
    )


@pytest.mark.django_db
def test_the_consent_scopes_are_translated(client, consenting_app, make_user):
    make_user("alice")
    login(client, "alice")
    page = authorize(client, scope="openid email", ui_locales="de").content.decode()
    assert "<h1>Web App erlauben?</h1>" in page
    assert "<li>Ihre E-Mail-Adresse</li>" in page
    assert '<button type="submit" class="secondary">Ablehnen</button>' in page


@pytest.mark.django_db
def test_the_language_chosen_before_sign_in_survives_it(client, consenting_app, make_user):
    make_user("alice")
    started = authorize(client, scope="openid email", ui_locales="de")
    form = client.get(started["Location"])
    assert "<h1>Bei authserver anmelden</h1>" in form.content.decode()
    signed_in = client.post(
        "/accounts/login/",
        {
            "username": "alice",
            "password": PASSWORD,
            "next": query_of(started["Location"])["next"],
            "csrfmiddlewaretoken": form.context["csrf_token"],
        },
    )
    assert signed_in.status_code == 302 and "/o/authorize/" in signed_in["Location"]
    # the session key rotated at sign-in; a request without ui_locales is still in German
    consent = authorize(client, scope="openid email", accept_language="en")
    assert consent.status_code == 200
    assert "<h1>Web App erlauben?</h1>" in consent.content.decode()


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="GNU gettext msgfmt is missing")
def test_the_german_catalogue_is_complete_and_its_compiled_file_current(tmp_path):
    po = CATALOGUE / "django.po"
    fresh = tmp_path / "django.mo"
    stats = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(fresh), str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
    assert int(stats.split()[0]) > 100  # translated messages
    with open(fresh, "rb") as a, open(CATALOGUE / "django.mo", "rb") as b:
        compiled, committed = gettext.GNUTranslations(a), gettext.GNUTranslations(b)
    assert committed._catalog == compiled._catalog  # make messages after editing the .po
