"""Bad input gets a clear 4xx in the format of the endpoint it was sent to, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

TWO_MB = "x" * 2_000_000


@pytest.mark.parametrize("path", ["/o/token/", "/o/introspect/", "/o/device-authorization/"])
def test_an_oversized_body_at_an_oauth_endpoint_is_a_413_oauth_error(client, path):
    response = client.post(path, {"grant_type": "client_credentials", "padding": TWO_MB})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The request body is larger than 1048576 bytes.",
    }


def test_an_oversized_form_in_the_browser_is_a_413_page(client):
    response = client.post("/accounts/login/", {"username": "alice", "password": TWO_MB})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Request too large" in page and "larger than 1048576 bytes" in page
    assert "Content-Security-Policy" in response  # the page gets the site's headers


def test_a_body_within_the_limit_is_read(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 3_000_000
    response = client.post("/o/token/", {"grant_type": "client_credentials", "padding": TWO_MB})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_an_unparsable_body_is_a_400_in_the_endpoints_format(client):
    """Django refuses a multipart body without a boundary (``handler400``): an RFC 6749 error
    on a machine endpoint, a page in the browser (both were Django's bare 400 page)."""
    broken = {"CONTENT_TYPE": "multipart/form-data"}
    token = client.generic("POST", "/o/token/", b"x", **broken)
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    page = client.generic("POST", "/accounts/login/", b"x", **broken)
    assert page.status_code == 400 and "Bad request" in page.content.decode()
