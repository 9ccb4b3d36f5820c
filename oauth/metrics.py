"""The token endpoint's counter: answers by grant type, registered client and outcome."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter

from core.metrics import labelled
from oauth.client_auth.secret import basic_credentials
from oauth.models import GRANT_TYPES
from oauth.outcome import TokenOutcome, of_response
from oauth.selectors import client_get

TOKEN_REQUESTS = Counter(
    "authserver_token_requests",
    "Token endpoint answers by grant type, client and outcome (issued or the OAuth error).",
    ["grant_type", "client", "outcome"],
)
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "authorization_pending",
        "slow_down",
        "access_denied",
        "expired_token",
        "temporarily_unavailable",
        "server_error",
    }
)


def _token_client(request: HttpRequest, response: HttpResponse, form: Mapping[str, str]) -> str:
    """The client id as a label only if it names a registered client (per-process cache)."""
    if response.status_code == 503:
        return "unknown"  # the database is down: no lookup
    credentials = basic_credentials(request)
    client_id = credentials[0] if credentials else form.get("client_id", "")
    try:
        known = bool(client_id) and len(client_id) <= 100 and client_get(client_id) is not None
    except DatabaseError:
        known = False
    return client_id if known else "unknown"


def _outcome_label(outcome: TokenOutcome) -> str:
    if outcome.status == 200:
        return "issued"
    return outcome.error if outcome.error in OAUTH_ERRORS else "error"


def observe_token(request: HttpRequest, response: HttpResponse) -> None:
    outcome = of_response(request, response)
    # a body refused as too large (authserver.middleware) is never read, here neither
    form: Mapping[str, str] = request.POST if response.status_code != 413 else {}
    labelled(
        TOKEN_REQUESTS,
        outcome.grant_type if outcome.grant_type in GRANT_TYPES else "other",
        _token_client(request, response, form),
        _outcome_label(outcome),
    ).inc()
