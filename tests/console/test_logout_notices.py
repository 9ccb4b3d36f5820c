"""A client's back-channel logout notifications on its console page: delivered, pending and
failed ones with the error (OpenID Connect Back-Channel Logout: failures visible)."""

import pytest
from django.utils import timezone

from oauth.models import LogoutNotice
from tests.console.conftest import text

pytestmark = pytest.mark.django_db


def test_the_client_page_shows_its_logout_notices_and_why_one_failed(console, make_client):
    client, _ = make_client(
        client_id="shop",
        grant_types=["authorization_code"],
        redirect_uris=["https://shop.example/cb"],
        backchannel_logout_uri="https://shop.example/logout",
    )
    now = timezone.now()
    LogoutNotice.objects.create(client=client, sub="7", sid="s1", attempts=1, delivered_at=now)
    LogoutNotice.objects.create(
        client=client, sub="8", sid="s2", attempts=6, failed_at=now, last_error="HTTP 503"
    )
    page = text(console.get(f"/console/clients/{client.pk}/"))
    assert "https://shop.example/logout" in page
    assert "Logout notifications" in page
    assert "delivered" in page
    assert "<strong>failed</strong>: HTTP 503" in page


def test_a_client_without_notices_has_no_such_section(console, make_client):
    client, _ = make_client(client_id="quiet")
    assert "Logout notifications" not in text(console.get(f"/console/clients/{client.pk}/"))
