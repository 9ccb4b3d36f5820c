"""The token endpoint's ``TokenOutcome``: read once from the answer, carried on it for the
metrics, and what a refused request's audit event records."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from audit.models import AuditEvent
from core.responses import oauth_error
from oauth.outcome import TokenOutcome, of_response
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


def test_the_token_view_attaches_the_outcome_of_its_answer(client, make_client):
    _client, secret = make_client(client_id="machine", name="Machine", scopes=["openid"])
    form = {"grant_type": "client_credentials"}
    issued = client.post("/o/token/", form, HTTP_AUTHORIZATION=basic_auth("machine", secret))
    refused = client.post("/o/token/", form, HTTP_AUTHORIZATION=basic_auth("machine", "nope"))
    assert issued.token_outcome == TokenOutcome("client_credentials", 200, "")
    assert refused.token_outcome == TokenOutcome("client_credentials", 401, "invalid_client")
    assert refused.token_outcome.client_auth_failed


def test_a_refused_grant_is_audited_from_its_outcome(client, make_client):
    _client, secret = make_client(client_id="machine", name="Machine", scopes=["openid"])
    response = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": "unknown"},
        HTTP_AUTHORIZATION=basic_auth("machine", secret),
    )
    assert response.status_code == 400 and not response.token_outcome.client_auth_failed
    event = AuditEvent.objects.get(event="token.refused")
    assert event.client_id == "machine"
    assert event.data["error"] == response.json()["error"] == response.token_outcome.error
    assert event.data["status"] == 400 and event.data["grant_type"] == "refresh_token"


def test_an_answer_without_an_attached_outcome_is_read_once_from_its_body():
    request = RequestFactory().post("/o/token/", {"grant_type": "password"})
    body = oauth_error("invalid_client", "no", status=400)
    assert of_response(request, body) == TokenOutcome("password", 400, "invalid_client")
    assert of_response(request, body).client_auth_failed
    not_json = HttpResponse("<html>", status=502)
    assert of_response(request, not_json) == TokenOutcome("password", 502, "")
    too_large = HttpResponse(status=413)  # its body was never read: neither is the form
    assert of_response(request, too_large).grant_type == ""
