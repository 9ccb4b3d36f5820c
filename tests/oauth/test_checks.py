"""The clients' posture in ``manage.py check --deploy`` (oauth.checks): each fires, and says how
to fix it."""

import pytest

from oauth.models import Client
from tests.checks import findings

pytestmark = pytest.mark.django_db


def test_long_lived_access_tokens(make_client, settings):
    make_client(client_id="slow", access_token_lifetime=7200)
    assert [f.obj for f in findings("authserver.W004")] == ["slow"]
    settings.ACCESS_TOKEN_LIFETIME = 86400
    assert len(findings("authserver.W004")) == 2


def test_http_redirect_uri_off_loopback(make_client):
    client, _ = make_client(
        client_id="legacy",
        grant_types=["authorization_code"],
        redirect_uris=["https://a.example/cb"],
    )
    Client.objects.filter(pk=client.pk).update(redirect_uris="http://a.example/cb")  # a legacy row
    (finding,) = findings("authserver.W005")
    assert "http://a.example/cb" in finding.msg and "https" in finding.hint
